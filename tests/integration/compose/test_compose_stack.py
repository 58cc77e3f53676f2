"""The production compose file for real: images built here, `up` until every healthcheck is
healthy, then a smoke through the published ports only (DICOM and nginx), then `down -v`.

This module is `make compose-test`. It runs the Orthanc tier as two replicas behind the DICOM
entry (``--orthanc-replicas 2``, stack/compose_cluster.py), the issue-18 topology, once: every
test shares the one deployment. The demo study goes in by C-STORE from a registered modality;
it must come back HTJ2K-stored, segmented (SEG, report volumes) and mirrored to the test's FHIR
server, and a frame read through nginx must decode to the pixels that were sent. Studies sent
over several associations land on both replicas, each with one job and one SEG; a replica
stopped mid-ingest loses nothing acknowledged; the entry keeps each AE title paired with its
host (senders in throw-away containers on the compose network, at addresses the test picks).
Figures (time to healthy, demo study to SEG) are printed. Orthanc's version and plugins are read
inside a replica (no Orthanc HTTP port is published).
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pynetdicom
import pytest
import requests
from neuronova_lab.synthetic.dicom import series_datasets
from neuronova_lab.synthetic.phantom import axial_grid, render
from neuronova_lab.synthetic.presets import PRESETS
from neuronova_lab.synthetic.study import SyntheticStudy
from pydicom.dataset import Dataset
from pynetdicom import AE

from stack import compose, compose_backup, compose_cluster, modalities
from tests.support.docker_engine import docker_engine
from tests.support.fhir_server import FhirTestServer
from tests.support.stack import free_ports

pytestmark = pytest.mark.timeout(3600)

ROOT = Path(__file__).resolve().parents[3]
SEED = 424242  # the demo's own study, on the small grid
HTJ2K = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
HEALTHY_TIMEOUT_S = 900.0
SEG_TIMEOUT_S = 900.0
ORTHANC_VERSION = "1.13.0"
ANY_TS = "multipart/related; type=application/octet-stream; transfer-syntax=*"
_SENT = re.compile(r"sent study (\S+) \((\d+) instances, 0 failed\)")
REPLICAS = 2
SEGMENT = "neuronova.inference.segment_study"
# Studies for the replica tests: the four MR sequences the AI needs, 4 x 50 slices of 48x48
# (tests/integration/scale's size: the AI runs, ingest stays seconds).
GRID = axial_grid((50, 48, 48), (2.9, 4.5, 4.5), np.zeros(3))
# Inside a replica: GET one route of a REST API (argv[1]: port; 8042 is the entry's upstream,
# 8042 + i replica i itself) with the container's password.
_ORTHANC_GET = (
    "import base64, os, sys, urllib.request as u; "
    "t = base64.b64encode(('orthanc:' + os.environ['ORTHANC_PASSWORD']).encode()).decode(); "
    "r = u.Request('http://127.0.0.1:' + sys.argv[1] + sys.argv[2], "
    "headers={'Authorization': 'Basic ' + t}); "
    "sys.stdout.write(u.urlopen(r, timeout=10).read().decode())"
)
# Inside a replica: the transfer syntax of every instance of study argv[1] (Orthanc id), counted.
_SYNTAXES = (
    "import base64, collections, json, os, sys, urllib.request as u; "
    "t = base64.b64encode(('orthanc:' + os.environ['ORTHANC_PASSWORD']).encode()).decode(); "
    "get = lambda uri: u.urlopen(u.Request('http://127.0.0.1:8042' + uri, "
    "headers={'Authorization': 'Basic ' + t}), timeout=10).read().decode(); "
    "ids = [i for s in json.loads(get('/studies/' + sys.argv[1] + '/series')) "
    "if s['MainDicomTags'].get('Modality') == 'MR' for i in s['Instances']]; "
    "print(json.dumps(collections.Counter(get('/instances/' + i + '/metadata/TransferSyntax') "
    "for i in ids)))"
)


_PYTEST: list[pytest.Config] = []  # progress goes to the terminal, past pytest's capture


@pytest.fixture(scope="module", autouse=True)
def _progress(pytestconfig: pytest.Config) -> None:
    _PYTEST[:] = [pytestconfig]


def say(message: str) -> None:
    if not _PYTEST:
        return
    plugins = _PYTEST[0].pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"[compose-test] {message}")


@dataclass
class Deployment:
    project: compose.Compose
    url: str
    dicom_port: int
    fhir: FhirTestServer
    figures: dict[str, float] = field(default_factory=dict)
    study_uid: str = ""
    users: dict[str, str] = field(default_factory=dict)

    def orthanc(self, uri: str, *, port: int = compose_cluster.HTTP_PORT, raw: bool = False) -> Any:
        """GET through the entry's HTTP upstream (any replica), or one replica's own port."""
        python = "/opt/neuronova/venv/bin/python"
        result = self.project.run(
            "exec", "-T", "orthanc-1", python, "-c", _ORTHANC_GET, str(port), uri, capture=True
        )
        return result.stdout if raw else json.loads(result.stdout)

    def manage(self, *args: str) -> str:
        result = self.project.run(
            "exec", "-T", "django", "python", "django-portal/manage.py", *args, capture=True
        )
        return result.stdout

    def token(self, username: str) -> str:
        answer = requests.post(
            f"{self.url}/api/auth/token",
            json={"username": username, "password": self.users[username]},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access"])


def _wait_for(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(3)
    raise AssertionError(f"timed out waiting for {what}")


def _free_subnets(count: int) -> list[str]:
    """/24s for the project's networks that no Docker network on this machine uses."""
    ids = subprocess.run(
        ["docker", "network", "ls", "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    used = subprocess.run(
        ["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    taken = [ipaddress.ip_network(s) for s in used if ":" not in s]
    free = [
        str(candidate)
        for candidate in (ipaddress.ip_network(f"172.31.{third}.0/24") for third in range(200, 250))
        if not any(candidate.overlaps(net) for net in taken)
    ]
    assert len(free) >= count, f"no {count} free 172.31.x.0/24 for the compose networks"
    return free[:count]


def _bridge_gateway() -> str:
    """The host's address on Docker's default bridge (docker0): containers reach the test FHIR
    server there. Docker gives a bridge the first address of its subnet."""
    subnet = subprocess.run(
        ["docker", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "bridge"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return str(ipaddress.ip_network(subnet)[1])


def _build_images() -> None:
    started = time.monotonic()
    say("building the images (scripts/compose-images.sh; layers reused)")
    result = subprocess.run(
        [str(ROOT / "scripts" / "compose-images.sh")], capture_output=True, text=True, check=False
    )
    for line in result.stderr.splitlines():
        say(line)
    assert result.returncode == 0, result.stderr[-3000:]
    say(f"images ready in {time.monotonic() - started:.0f} s")


def _leftovers(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in ("container", "network", "volume"):
        args = ["docker", kind, "ls", "-q", "--filter", label]
        if kind == "container":
            args.insert(3, "-a")
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
        found += [f"{kind} {name}" for name in out]
    return found


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with (
        tempfile.TemporaryDirectory(prefix="nn-compose-") as tmp,
        docker_engine(Path(tmp) / "dockerd.log"),
    ):
        _build_images()
        http_port, dicom_port = free_ports(2)
        frontend, backend = _free_subnets(2)
        with FhirTestServer.start(host=_bridge_gateway()) as fhir:
            environ = {
                **os.environ,
                "NEURONOVA_HTTP_BIND": "127.0.0.1",
                "NEURONOVA_HTTP_PORT": str(http_port),
                "NEURONOVA_DICOM_BIND": "127.0.0.1",
                "NEURONOVA_DICOM_PORT": str(dicom_port),
                "NEURONOVA_FRONTEND_SUBNET": frontend,
                "NEURONOVA_BACKEND_SUBNET": backend,
                "FHIR_BASE_URL": fhir.base_url,
            }
            project = compose.Compose(
                f"nn-test-{os.getpid()}", Path(tmp), environ, replicas=REPLICAS
            )
            try:
                say(f"up: project {project.project}, nginx :{http_port}, DICOM :{dicom_port}")
                figures = {"healthy_s": project.up(HEALTHY_TIMEOUT_S)}
                say(f"every container healthy {figures['healthy_s']:.0f} s after `up`")
                yield Deployment(
                    project, f"http://127.0.0.1:{http_port}", dicom_port, fhir, figures
                )
            finally:
                if _leftovers(project.project):
                    project.run("logs", "--tail", "40", check=False)
                    project.down(volumes=True)


@pytest.fixture(scope="module")
def demo(deployment: Deployment) -> Deployment:
    """The demo study sent by C-STORE from a registered modality, its SEG and report back."""
    # Connections to a published port from this host reach Orthanc from the network's gateway.
    sender = deployment.project.network_gateway()
    deployment.project.register_modality("NN-DEMO", modalities.entry("NN-DEMO", sender))
    started = time.monotonic()
    sent = subprocess.run(
        [
            sys.executable,
            "-m",
            "neuronova_lab.synthetic.demo",
            *("--host", "127.0.0.1", "--port", str(deployment.dicom_port)),
            *("--aet", "NEURONOVA", "--calling-aet", "NN-DEMO", "--small", "--seed", str(SEED)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'lab'}:{ROOT / 'contracts'}"},
    )
    match = _SENT.search(sent.stdout)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert match, sent.stdout
    deployment.study_uid = match.group(1)
    for username, role in (("smoke-radiologist", "radiologist"), ("smoke-clinician", "clinician")):
        password = secrets.token_urlsafe(18)
        deployment.manage(
            "shell",
            "-c",
            "from accounts import services; "
            f"services.ensure_user(username={username!r}, password={password!r}, role={role!r})",
        )
        deployment.users[username] = password
    token = deployment.token("smoke-radiologist")

    def report() -> dict[str, Any] | None:
        answer = requests.get(
            f"{deployment.url}/api/studies/{deployment.study_uid}/report",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        body = answer.json() if answer.status_code == 200 else {}
        assert body.get("status") not in {"failed", "skipped"}, body
        return body if body.get("status") == "done" else None

    _wait_for("the AI report", report, SEG_TIMEOUT_S)
    deployment.figures["demo_to_seg_s"] = time.monotonic() - started
    say(f"demo study to SEG and report: {deployment.figures['demo_to_seg_s']:.0f} s")
    return deployment


def test_orthanc_is_the_native_runs_orthanc_with_the_codec(deployment: Deployment) -> None:
    system = deployment.orthanc("/system")
    assert system["Version"] == ORTHANC_VERSION
    plugins = deployment.orthanc("/plugins")
    assert {"python", "dicom-web", "postgresql-index"} <= set(plugins), plugins
    assert any("htj2k" in name.lower() for name in plugins), plugins


def test_every_service_is_healthy_and_only_two_ports_are_published(deployment: Deployment) -> None:
    states = deployment.project.container_states()
    want = {"nginx", "django", "portal-worker", "inference", "inference-worker"}
    orthanc = {"orthanc", "orthanc-entry", "orthanc-1", "orthanc-2"}
    assert want | orthanc | {"postgres", "redis"} <= set(states)
    assert all(state == ("running", "healthy") for state in states.values()), states
    published = subprocess.run(
        [
            "docker",
            "ps",
            "--filter",
            f"label=com.docker.compose.project={deployment.project.project}",
            "--format",
            '{{.Label "com.docker.compose.service"}} {{.Ports}}',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    exposed = sorted(line.split()[0] for line in published if "->" in line)
    assert exposed == ["nginx", "orthanc"], published


def test_clinician_sees_the_study_through_nginx(demo: Deployment) -> None:
    radiologist = {"Authorization": f"Bearer {demo.token('smoke-radiologist')}"}
    studies = requests.get(
        f"{demo.url}/api/pacs/dicom-web/studies",
        params={"StudyInstanceUID": demo.study_uid},
        headers=radiologist,
        timeout=30,
    ).json()
    (study,) = studies
    patient = study["00100020"]["Value"][0]
    demo.manage("assign_patient", "smoke-clinician", patient)
    clinician = {"Authorization": f"Bearer {demo.token('smoke-clinician')}"}
    listed = requests.get(f"{demo.url}/api/studies", headers=clinician, timeout=30).json()
    assert demo.study_uid in [row["study_uid"] for row in listed["results"]]
    qido = requests.get(f"{demo.url}/api/pacs/dicom-web/studies", headers=clinician, timeout=30)
    assert qido.status_code == 200
    assert [s["0020000D"]["Value"][0] for s in qido.json()] == [demo.study_uid]
    report = requests.get(
        f"{demo.url}/api/studies/{demo.study_uid}/report", headers=clinician, timeout=30
    ).json()
    assert report["status"] == "done"
    assert report["labels"]
    assert all(item["volume_ml"] >= 0 for item in report["labels"])


def test_frame_is_stored_htj2k_and_decodes_to_the_pixels_sent(demo: Deployment) -> None:
    _check_a_frame(demo)


def _check_a_frame(demo: Deployment) -> None:
    """SEG beside the MR series; the middle MR frame is HTJ2K and decodes to the pixels sent."""
    headers = {"Authorization": f"Bearer {demo.token('smoke-radiologist')}"}
    sent = {str(ds.SOPInstanceUID): ds for ds in series_datasets(render(SEED, PRESETS["small"]()))}
    series = requests.get(
        f"{demo.url}/api/pacs/dicom-web/studies/{demo.study_uid}/series",
        headers=headers,
        timeout=30,
    ).json()
    modalities_seen = {s["00080060"]["Value"][0] for s in series}
    assert "SEG" in modalities_seen, modalities_seen
    mr = next(s for s in series if s["00080060"]["Value"][0] == "MR")
    series_uid = mr["0020000E"]["Value"][0]
    base = f"{demo.url}/api/pacs/dicom-web/studies/{demo.study_uid}/series/{series_uid}"
    instances = requests.get(f"{base}/instances", headers=headers, timeout=30).json()
    sop = instances[len(instances) // 2]["00080018"]["Value"][0]
    frame = requests.get(
        f"{base}/instances/{sop}/frames/1", headers={**headers, "Accept": ANY_TS}, timeout=30
    )
    assert frame.status_code == 200, frame.text[:300]
    content_type = frame.headers["Content-Type"]
    transfer_syntax = content_type.partition("transfer-syntax=")[2].split(";")[0].strip('"')
    assert transfer_syntax in HTJ2K, content_type
    pixels = imagecodecs.htj2k_decode(_single_part(frame))
    np.testing.assert_array_equal(pixels, sent[sop].pixel_array)


def test_diagnostic_report_reaches_the_fhir_server(demo: Deployment) -> None:
    reports = _wait_for(
        "the DiagnosticReport on the FHIR server", lambda: demo.fhir.search("DiagnosticReport"), 300
    )
    (report,) = reports
    assert report["status"] == "preliminary"  # the AI's result, unsigned until a review
    (study,) = demo.fhir.search("ImagingStudy")
    assert {"system": "urn:dicom:uid", "value": f"urn:oid:{demo.study_uid}"} in study["identifier"]


def _census(demo: Deployment) -> dict[str, Any]:
    """What must survive a restore: the portal's rows and Orthanc's resources."""
    rows = json.loads(demo.manage("shell", "-c", _CENSUS).strip().splitlines()[-1])
    statistics = demo.orthanc("/statistics")
    keys = ("CountPatients", "CountStudies", "CountSeries", "CountInstances")
    return {**rows, **{key: statistics[key] for key in keys}}


_CENSUS = (
    "import json; from django.apps import apps; "
    "names = ['accounts.User', 'accounts.PatientAssignment', 'clinical.Patient', "
    "'clinical.Study', 'clinical.Series', 'clinical.AIJob', 'fhir_sync.FhirSyncState', "
    "'audit.AuditEvent']; "
    "rows = {n: sorted(apps.get_model(n).objects.values_list('pk', flat=True)) for n in names}; "
    "print(json.dumps({n: [str(pk) for pk in pks] for n, pks in rows.items()}))"
)


class Sender:
    """A modality on this host sending through the published DICOM port: one association per
    lane at a time, sending again what was not acknowledged (an association whose replica went
    away is aborted). ``acknowledged``: SOP Instance UIDs a replica answered with success."""

    def __init__(self, port: int, calling: str) -> None:
        self.port, self.calling = port, calling
        self.acknowledged: set[str] = set()
        self.associations = 0
        self._lock = threading.Lock()

    def lane(self, datasets: Sequence[Dataset], attempts: int = 6) -> None:
        for _ in range(attempts):
            rest = [ds for ds in datasets if str(ds.SOPInstanceUID) not in self.acknowledged]
            if not rest:
                return
            ae = AE(ae_title=self.calling)
            ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
            for sop_class in {str(ds.SOPClassUID) for ds in rest}:
                ae.add_requested_context(sop_class, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
            assoc = ae.associate("127.0.0.1", self.port, ae_title="NEURONOVA")
            if not assoc.is_established:
                time.sleep(1)
                continue
            with self._lock:
                self.associations += 1
            try:
                for ds in rest:
                    status = assoc.send_c_store(ds)
                    if not status or int(status.get("Status", -1)) != 0:
                        break
                    with self._lock:
                        self.acknowledged.add(str(ds.SOPInstanceUID))
            finally:
                if assoc.is_established:
                    assoc.release()

    def study(self, study: SyntheticStudy, *, during: Callable[[], None] | None = None) -> None:
        """Series k over lane k, four at once: the study spread over the replicas."""
        lanes = [list(series) for series in study.series.values()]
        with concurrent.futures.ThreadPoolExecutor(len(lanes)) as pool:
            futures = [pool.submit(self.lane, lane) for lane in lanes]
            if during is not None:
                during()
            for future in futures:
                future.result()


def _ingested(demo: Deployment, index: int) -> float:
    """Instances replica ``index`` received (its own metrics, on its own port)."""
    port = compose_cluster.replica_http_port(index)
    text = demo.orthanc("/neuronova/metrics", port=port, raw=True)
    seen = re.search(r"^neuronova_ingest_instances_seen_total ([0-9.]+)", text, re.MULTILINE)
    assert seen, text[:500]
    return float(seen.group(1))


def _study_id(demo: Deployment, study_uid: str) -> str:
    found = demo.orthanc("/studies?expand")
    return str(next(s["ID"] for s in found if s["MainDicomTags"]["StudyInstanceUID"] == study_uid))


def _jobs(demo: Deployment, study_uid: str) -> int:
    """Segmentation jobs published for the study: rows of the replicas' shared outbox."""
    query = (
        "SELECT count(*) FROM neuronova.outbox WHERE task = :'task' "
        "AND (kwargs::jsonb ->> 'study_uid') = :'study'"
    )
    result = demo.project.run(
        "exec",
        "-T",
        "postgres",
        "psql",
        "-h",
        "/tmp",  # the superuser logs in on the container's socket only
        "-U",
        "postgres",
        "-d",
        "neuronova_orthanc",
        "-tA",
        "-v",
        f"task={SEGMENT}",
        "-v",
        f"study={study_uid}",
        capture=True,
        input_text=query + ";\n",
    )
    return int(result.stdout.strip())


def _wait_one_job_one_seg(demo: Deployment, study: SyntheticStudy) -> None:
    """The study's AI result is done (the portal's report), from one job and one SEG."""
    token = demo.token("smoke-radiologist")

    def done() -> bool:
        answer = requests.get(
            f"{demo.url}/api/studies/{study.study_uid}/report",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        body = answer.json() if answer.status_code == 200 else {}
        assert body.get("status") not in {"failed", "skipped"}, body
        return body.get("status") == "done"

    _wait_for(f"the AI result of {study.study_uid}", done, SEG_TIMEOUT_S)
    assert _jobs(demo, study.study_uid) == 1
    series = demo.orthanc(f"/studies/{_study_id(demo, study.study_uid)}/series")
    segs = [
        i for s in series if s["MainDicomTags"].get("Modality") == "SEG" for i in s["Instances"]
    ]
    assert len(segs) == 1, series


def _stored_htj2k(demo: Deployment, study: SyntheticStudy) -> Counter[str]:
    python = "/opt/neuronova/venv/bin/python"
    study_id = _study_id(demo, study.study_uid)
    result = demo.project.run(
        "exec", "-T", "orthanc-1", python, "-c", _SYNTAXES, study_id, capture=True
    )
    return Counter(json.loads(result.stdout))


def test_stores_through_the_entry_land_on_both_replicas_htj2k_one_job_one_seg(
    demo: Deployment,
) -> None:
    study = SyntheticStudy.generate(1811, GRID)
    before = [_ingested(demo, i) for i in range(1, REPLICAS + 1)]
    sender = Sender(demo.dicom_port, "NN-DEMO")
    sender.study(study)
    sent = {str(ds.SOPInstanceUID) for ds in study.all_datasets()}
    assert sender.acknowledged == sent
    after = [_ingested(demo, i) for i in range(1, REPLICAS + 1)]
    say(f"ingest counters of the replicas: {before} -> {after} ({len(sent)} instances sent)")
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    syntaxes = _stored_htj2k(demo, study)
    assert sum(syntaxes.values()) == len(sent), syntaxes
    assert set(syntaxes) <= HTJ2K, syntaxes
    _wait_one_job_one_seg(demo, study)


def test_a_replica_stopped_mid_ingest_loses_nothing_acknowledged(demo: Deployment) -> None:
    study = SyntheticStudy.generate(1812, GRID)
    sent = {str(ds.SOPInstanceUID) for ds in study.all_datasets()}
    sender = Sender(demo.dicom_port, "NN-DEMO")
    victim = demo.project.run("ps", "-q", "orthanc-2", capture=True).stdout.strip()

    def stop_half_way() -> None:
        _wait_for(
            "a third of the study acknowledged",
            lambda: len(sender.acknowledged) > len(sent) // 3,
            300,
        )
        acknowledged = len(sender.acknowledged)
        subprocess.run(["docker", "stop", victim], check=True, capture_output=True)
        say(
            f"docker stop orthanc-2 with {acknowledged} of {len(sent)} acknowledged; "
            f"{len(sender.acknowledged)} once it had stopped"
        )

    try:
        sender.study(study, during=stop_half_way)
        assert sender.acknowledged == sent  # the modality's resends went to orthanc-1
        syntaxes = _stored_htj2k(demo, study)
        assert sum(syntaxes.values()) == len(sent), syntaxes  # every acknowledged one is there
        assert set(syntaxes) <= HTJ2K, syntaxes
        _wait_one_job_one_seg(demo, study)  # whichever replica led, orthanc-1 leads now
    finally:
        subprocess.run(["docker", "start", victim], check=True, capture_output=True)
        demo.project.wait_healthy(HEALTHY_TIMEOUT_S)


# Run in a throw-away container at a chosen address on the compose frontend network: one
# association per (port, calling AE title) in argv[1] (JSON), C-ECHO, answers
# [accepted, echo status] each. pynetdicom comes from this venv, mounted read-only.
_ECHO = (
    "import json, sys; from pynetdicom import AE; out = []\n"
    "for port, calling in json.loads(sys.argv[1]):\n"
    "    ae = AE(ae_title=calling); ae.acse_timeout = ae.network_timeout = 20\n"
    "    ae.add_requested_context('1.2.840.10008.1.1')\n"
    "    assoc = ae.associate('orthanc', port, ae_title='NEURONOVA')\n"
    "    if not assoc.is_established: out.append([False, None]); continue\n"
    "    status = assoc.send_c_echo(); assoc.release()\n"
    "    out.append([True, int(getattr(status, 'Status', -1))])\n"
    "print(json.dumps(out))"
)


def _echo_from(demo: Deployment, address: str, calls: list[tuple[int, str]]) -> list[list[Any]]:
    """C-ECHOs from a host at ``address`` on the frontend network (as a modality on the
    imaging network: the entry sees that address itself)."""
    library = Path(pynetdicom.__file__).resolve().parent
    # pynetdicom reads its version from its metadata: the dist-info goes along.
    (metadata,) = library.parent.glob("pynetdicom-*.dist-info")
    network = f"{demo.project.project}_frontend"
    result = subprocess.run(
        [
            *("docker", "run", "--rm", "--network", network, "--ip", address),
            *("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true"),
            *("-v", f"{library}:/opt/pynetdicom/pynetdicom:ro"),
            *("-v", f"{metadata}:/opt/pynetdicom/{metadata.name}:ro"),
            *("-e", "PYTHONPATH=/opt/pynetdicom"),
            "neuronova/python:latest",
            *("python", "-c", _ECHO, json.dumps(calls)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answers: list[list[Any]] = json.loads(result.stdout.strip().splitlines()[-1])
    return answers


def _denied_at_entry(demo: Deployment, address: str) -> int:
    logs = demo.project.run("logs", "--no-color", "orthanc-entry", capture=True).stdout
    return len(re.findall(rf"\|\s+{re.escape(address)} \S+ 403 ", logs))


def test_the_entry_keeps_each_ae_title_paired_with_its_host(demo: Deployment) -> None:
    """Door 1 behind the entry: modality B (its own address on the network) stores under its own
    title only; A's title from B's host, and B's title sent to a replica's own port, are refused
    by Orthanc (each replica checks the pair at the entry's source address for B's host); a host
    nobody registered is refused by the entry itself (403 in its log), even with A's title."""
    subnet = ipaddress.ip_network(demo.project.environ["NEURONOVA_FRONTEND_SUBNET"])
    b_host, stranger = str(subnet[200]), str(subnet[201])
    demo.project.register_modality("NN-B", modalities.entry("NN-B", b_host))
    try:
        replica_ports = [compose_cluster.replica_dicom_port(i) for i in range(1, REPLICAS + 1)]
        calls = [(4242, "NN-B"), (4242, "NN-DEMO"), *((port, "NN-B") for port in replica_ports)]
        answers = _echo_from(demo, b_host, calls)
        assert answers[0] == [True, 0], answers  # B from B's host: the path works
        assert answers[1] == [False, None], answers  # A's title from B's host
        assert answers[2:] == [[False, None]] * REPLICAS, answers  # around the entry
        denied = _denied_at_entry(demo, stranger)
        assert _echo_from(demo, stranger, [(4242, "NN-DEMO"), (4242, "NN-B")]) == [
            [False, None],
            [False, None],
        ]
        _wait_for("the entry's 403s", lambda: _denied_at_entry(demo, stranger) >= denied + 2, 30)
    finally:
        demo.project.register_modality("NN-B", None)


def test_backup_then_restore_on_empty_volumes_brings_everything_back(demo: Deployment) -> None:
    before = _census(demo)
    # The SEG's series reaches the portal when the study turns stable again after the SEG.
    deadline = time.monotonic() + 180
    while len(before["clinical.Series"]) != before["CountSeries"] and time.monotonic() < deadline:
        time.sleep(2)
        before = _census(demo)
    assert len(before["clinical.Series"]) == before["CountSeries"], before
    assert before["clinical.AIJob"], before
    assert before["audit.AuditEvent"], before
    with tempfile.TemporaryDirectory(prefix="nn-backup-") as folder:
        compose_backup.backup(demo.project, Path(folder) / "backup")
        seconds = compose_backup.restore(demo.project, Path(folder) / "backup", timeout=600)
    demo.figures["restore_s"] = seconds
    say(f"restore: volumes recreated from the backup, healthy again in {seconds:.0f} s")
    after = _census(demo)
    for name, rows in before.items():
        if name == "audit.AuditEvent":  # reads since the backup add rows; none may be missing
            assert set(rows) <= set(after[name]), name
        else:
            assert after[name] == rows, name
    _check_a_frame(demo)


def test_down_leaves_no_container_network_or_volume(deployment: Deployment) -> None:
    figures = {"demo_to_seg_s": float("nan"), **deployment.figures}
    say(
        f"figures: healthy {figures['healthy_s']:.0f} s after up; "
        f"demo study to SEG {figures['demo_to_seg_s']:.0f} s"
    )
    deployment.project.down(volumes=True)
    assert _leftovers(deployment.project.project) == []
    assert shutil.which("docker")


def _single_part(response: requests.Response) -> bytes:
    """The one part of a multipart/related answer (or the body when it is not multipart)."""
    content_type = response.headers["Content-Type"]
    if not content_type.startswith("multipart/"):
        return response.content
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    assert boundary, content_type
    part = response.content.split(b"--" + boundary.group(1).encode())[1]
    return part.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n")


def test_monitoring_profile_configs_pass_their_own_tools(tmp_path: Path) -> None:
    """The `monitoring` profile's image (Debian's Prometheus and Alertmanager) accepts the
    repository's scrape config, alert rules and Alertmanager config (its own promtool/amtool)."""
    with docker_engine(tmp_path / "dockerd.log"):
        _check_monitoring_configs()


def _check_monitoring_configs() -> None:
    built = subprocess.run(
        [str(ROOT / "scripts" / "compose-images.sh"), "prometheus"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    prometheus, alertmanager = ROOT / "observability" / "prometheus", ROOT / "observability"
    checks = {
        "promtool check config /etc/prometheus/prometheus.yml": [
            f"{prometheus / 'prometheus.compose.yml'}:/etc/prometheus/prometheus.yml:ro",
            f"{prometheus / 'rules'}:/etc/prometheus/rules:ro",
        ],
        "amtool check-config /etc/alertmanager/alertmanager.yml": [
            f"{alertmanager / 'alertmanager' / 'alertmanager.yml'}:/etc/alertmanager/"
            "alertmanager.yml:ro",
        ],
    }
    for command, mounts in checks.items():
        volumes = [arg for mount in mounts for arg in ("-v", mount)]
        image = "neuronova/prometheus:latest"
        result = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", *volumes, image, *command.split()],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, command + "\n" + result.stdout + result.stderr
        assert "SUCCESS" in result.stdout + result.stderr, command
