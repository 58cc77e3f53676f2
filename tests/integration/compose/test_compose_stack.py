"""The production compose file for real: images built here, `up` until every healthcheck is
healthy, then a smoke through the published ports only (DICOM and nginx), then `down -v`.

This module is `make compose-test`. The demo study goes in by C-STORE from a registered modality;
it must come back HTJ2K-stored, segmented (SEG, report volumes) and mirrored to the test's FHIR
server, and a frame read through nginx must decode to the pixels that were sent. Figures (time to
healthy, demo study to SEG) are printed. Orthanc's version and plugins are read inside its
container (its HTTP port is not published).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
import requests
from neuronova_lab.synthetic.dicom import series_datasets
from neuronova_lab.synthetic.phantom import render
from neuronova_lab.synthetic.presets import PRESETS

from stack import compose, compose_backup, modalities
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
# Inside the Orthanc container: GET one route of its REST API with the container's password.
_ORTHANC_GET = (
    "import base64, os, sys, urllib.request as u; "
    "t = base64.b64encode(('orthanc:' + os.environ['ORTHANC_PASSWORD']).encode()).decode(); "
    "r = u.Request('http://127.0.0.1:8042' + sys.argv[1], "
    "headers={'Authorization': 'Basic ' + t}); "
    "sys.stdout.write(u.urlopen(r, timeout=10).read().decode())"
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

    def orthanc(self, uri: str) -> Any:
        python = "/opt/neuronova/venv/bin/python"
        result = self.project.run(
            "exec", "-T", "orthanc", python, "-c", _ORTHANC_GET, uri, capture=True
        )
        return json.loads(result.stdout)

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
            project = compose.Compose(f"nn-test-{os.getpid()}", Path(tmp), environ)
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
    assert want | {"orthanc", "postgres", "redis"} <= set(states)
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
