"""`make up` with two Orthanc replicas on the machine's PostgreSQL (NEURONOVA_ORTHANC_DB=
postgresql, NEURONOVA_ORTHANC_REPLICAS=2): the stack creates the index's role and database,
the demo study goes in through nginx's DICOM entry, the AI result comes back, the viewer's
authorised frames come out of the replicas through X-Accel, a stopped replica costs the
modality nothing, and a modality registered while the stack runs stores through the entry from its
own host only, under its own AE title only."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator

import pytest
import requests
from psycopg import sql
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from stack.demo import DEMO_AET
from tests.support.orthanc import synthetic_mr_series
from tests.support.postgres import admin
from tests.support.stack import RunningStack, free_ports, native_stack


@pytest.fixture(scope="module")
def replicated() -> Iterator[RunningStack]:
    name = f"nn_stack_{secrets.token_hex(4)}"
    http_one, http_two, dicom_one, dicom_two = free_ports(4)
    extra = {
        "NEURONOVA_ORTHANC_DB": "postgresql",
        "NEURONOVA_ORTHANC_REPLICAS": "2",
        "ORTHANC_REPLICA_HTTP_PORTS": f"{http_one},{http_two}",
        "ORTHANC_REPLICA_DICOM_PORTS": f"{dicom_one},{dicom_two}",
        "NEURONOVA_ORTHANC_PG_DATABASE": name,
        "NEURONOVA_ORTHANC_PG_USER": name,
    }
    try:
        with native_stack(extra) as running:
            yield running
    finally:
        with admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def _series_and_instance(stack: RunningStack, study_uid: str, token: str) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{stack.url}/api/pacs/dicom-web/studies/{study_uid}"
    series = requests.get(f"{base}/series", headers=headers, timeout=30).json()
    series_uid = next(s["0020000E"]["Value"][0] for s in series if s["00080060"]["Value"] == ["MR"])
    instances = requests.get(f"{base}/series/{series_uid}/instances", headers=headers, timeout=30)
    return series_uid, instances.json()[0]["00080018"]["Value"][0]


def test_two_replicas_on_postgresql_serve_ingest_ai_and_viewing(replicated: RunningStack) -> None:
    states = replicated.supervisor.status()
    assert states.get("orthanc-1") == states.get("orthanc-2") == "RUNNING", states
    system = requests.get(
        f"{replicated.orthanc_url}/system", auth=replicated.orthanc_auth, timeout=10
    ).json()
    assert "PostgreSQL" in system["DatabaseBackendPlugin"]
    # The demo sender stores through the entry (ORTHANC_DICOM_PORT) and waits for the AI result.
    demo = replicated.cli("demo", "--small", "--seed", "18001", "--timeout", "300", timeout=420)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    study_uid = re.search(r"sent study (\S+) \(", demo.stdout).group(1)  # type: ignore[union-attr]
    token = replicated.token("radiologist")
    series_uid, sop_uid = _series_and_instance(replicated, study_uid, token)
    frame = requests.get(
        f"{replicated.url}/api/pacs/dicom-web/studies/{study_uid}/series/{series_uid}"
        f"/instances/{sop_uid}/frames/1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert frame.status_code == 200, frame.text[:300]
    assert len(frame.content) > 100


def test_a_stopped_replica_costs_the_modality_nothing(replicated: RunningStack) -> None:
    replicated.supervisor.stop_program("orthanc-1")
    try:
        study_uid = replicated.send_demo_study(seed=18002)
        answer = requests.post(
            f"{replicated.orthanc_url}/tools/lookup",
            data=study_uid,
            auth=replicated.orthanc_auth,
            timeout=10,
        )
        assert [hit["Type"] for hit in answer.json()] == ["Study"]
        deadline = time.monotonic() + 60
        while replicated.health()[0] != 200:
            assert time.monotonic() < deadline, replicated.health()
            time.sleep(1)
    finally:
        replicated.supervisor.start_program("orthanc-1")


def _answers(stack: RunningStack, port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/system"
        return requests.get(url, auth=stack.orthanc_auth, timeout=5).ok
    except requests.RequestException:
        return False


def _entry_refusals(stack: RunningStack) -> float:
    total = 0.0
    for replica in stack.config.orthanc_replicas:
        url = f"http://127.0.0.1:{replica.http_port}/neuronova/metrics"
        text = requests.get(url, auth=stack.orthanc_auth, timeout=10).text
        pattern = r'^neuronova_dicom_associations_refused_total\{reason="entry_host"\} (\S+)$'
        total += sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))
    return total


def _store_through_entry(stack: RunningStack, *, calling: str, source: str, seed: int) -> bool:
    (dataset,) = synthetic_mr_series(1, rows=32, columns=32, seed=seed)
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.network_timeout = 20
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate(
        "127.0.0.1", stack.dicom_port, ae_title=stack.aet, bind_address=(source, 0)
    )
    if not assoc.is_established:
        return False
    try:
        return int(getattr(assoc.send_c_store(dataset), "Status", -1)) == 0
    finally:
        assoc.release()


def test_a_modality_added_live_stores_from_its_host_under_its_title_only(
    replicated: RunningStack,
) -> None:
    for replica in replicated.config.orthanc_replicas:  # one may still restart after a test
        deadline = time.monotonic() + 60
        while not _answers(replicated, replica.http_port):
            assert time.monotonic() < deadline, replica.name
            time.sleep(0.5)
    added = replicated.cli("modality", "add", "NN-SECOND", "--host", "127.0.0.2", timeout=60)
    assert added.returncode == 0, added.stdout + added.stderr
    assert "applied to the running Orthanc" in added.stdout + added.stderr
    try:
        # `modality add` reloaded the entry and re-registered every replica: no restart.
        assert _store_through_entry(replicated, calling="NN-SECOND", source="127.0.0.2", seed=1)
        # Another registered host's title from this host: refused by the replicas.
        assert not _store_through_entry(replicated, calling=DEMO_AET, source="127.0.0.2", seed=2)
        # A host nobody registered: refused by the entry, counted once (by the first replica).
        refused = _entry_refusals(replicated)
        assert not _store_through_entry(replicated, calling=DEMO_AET, source="127.0.0.3", seed=3)
        deadline = time.monotonic() + 20  # nginx logs the session once it is closed
        while _entry_refusals(replicated) == refused:
            assert time.monotonic() < deadline, "the entry's refusal was not counted"
            time.sleep(0.5)
        assert _entry_refusals(replicated) == refused + 1
        # The demo modality still stores from its own host.
        assert _store_through_entry(replicated, calling=DEMO_AET, source="127.0.0.1", seed=4)
    finally:
        replicated.cli("modality", "remove", "NN-SECOND", timeout=60)
