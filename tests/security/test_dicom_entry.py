"""Door 1 behind the DICOM entry: with several Orthanc replicas, modalities reach them through
nginx's stream module, so every replica sees nginx, not the modality, as the peer. Only a
registered modality (calling AE title *and* its host) may still store, and the replicas' own
DICOM ports must not be a way around the entry.

Two replicas with the plugin, registered and fronted exactly as the stack renders them
(``stack.orthanc_cluster.replica_modalities``, ``stack.dicom_entry``); two modalities, A on
127.0.0.1 and B on 127.0.0.2 (every 127.0.0.0/8 address is this machine's loopback, so each is a
real, distinct peer), and an unregistered host 127.0.0.3. The attacker is pynetdicom.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from stack import modalities, orthanc_cluster
from tests.support.cluster import Entry
from tests.support.orthanc import OrthancProcess, synthetic_mr_series

A = modalities.entry("NN-ENTRY-A", "127.0.0.1")
B = modalities.entry("NN-ENTRY-B", "127.0.0.2")
REGISTERED = {"MR-A": A, "MR-B": B}
ELSEWHERE = "127.0.0.3"  # no modality is registered there


@dataclass
class Fronted:
    entry: Entry
    replicas: list[OrthancProcess]


@pytest.fixture(scope="module")
def fronted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fronted]:
    tmp = tmp_path_factory.mktemp("dicom-entry")
    behind = orthanc_cluster.replica_modalities(REGISTERED, count=2)
    (tmp / "entry").mkdir()
    # Independent indexes are enough here: the door is per replica, the counts are summed. The
    # first replica also counts the entry's refusals from its log, as the stack has it.
    counts_entry = {"DicomEntryLogFile": str(tmp / "entry" / "access.log")}
    replicas = [
        OrthancProcess(
            workdir=tmp / f"orthanc-{n}",
            neuronova={"Ai": False, **(counts_entry if n == 1 else {})},
            modalities=behind,
            shared=(tmp / "entry",) if n == 1 else (),
        )
        for n in (1, 2)
    ]
    entry = Entry(tmp / "entry", replicas, modalities=REGISTERED)
    try:
        for replica in replicas:
            replica.start()
        entry.start()
        yield Fronted(entry, replicas)
    finally:
        entry.stop()
        for replica in replicas:
            replica.stop()


def _store(
    port: int, *, calling: str, source: str, seed: int, host: str = "127.0.0.1"
) -> tuple[bool, int | None]:
    """(association accepted, C-STORE status) for one MR slice sent from ``source``."""
    (dataset,) = synthetic_mr_series(1, rows=32, columns=32, seed=seed)
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.network_timeout = 20
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate(host, port, ae_title="NEURONOVA", bind_address=(source, 0))
    if not assoc.is_established:
        return False, None
    try:
        status = assoc.send_c_store(dataset)
        return True, int(getattr(status, "Status", -1))
    finally:
        assoc.release()


def _instances(fronted: Fronted) -> int:
    return sum(
        int(requests.get(f"{r.url}/statistics", auth=r.auth, timeout=10).json()["CountInstances"])
        for r in fronted.replicas
    )


def _refused_by_replicas(fronted: Fronted, reason: str = "calling_ae_or_host") -> float:
    pattern = rf'^neuronova_dicom_associations_refused_total\{{reason="{reason}"\}} (\S+)$'
    total = 0.0
    for r in fronted.replicas:
        text = requests.get(f"{r.url}/neuronova/metrics", auth=r.auth, timeout=10).text
        total += sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))
    return total


def _denied_at_entry(fronted: Fronted, source: str) -> int:
    """Sessions the entry refused from ``source`` (its access log: address ... status 403)."""
    log = fronted.entry.workdir / "access.log"
    text = log.read_text() if log.exists() else ""
    return len(re.findall(rf"^{re.escape(source)} \S+ 403 ", text, re.MULTILINE))


def test_each_registered_modality_stores_from_its_own_host(fronted: Fronted) -> None:
    before = _instances(fronted)
    assert _store(fronted.entry.port, calling=A["AET"], source=A["Host"], seed=1) == (True, 0)
    assert _store(fronted.entry.port, calling=B["AET"], source=B["Host"], seed=2) == (True, 0)
    assert _instances(fronted) == before + 2


@pytest.mark.parametrize("calling", ["ANY-SCANNER", A["AET"]], ids=["unknown-ae", "spoofed-ae"])
def test_an_unregistered_host_is_refused_at_the_entry(fronted: Fronted, calling: str) -> None:
    before, denied = _instances(fronted), _denied_at_entry(fronted, ELSEWHERE)
    counted = _refused_by_replicas(fronted, "entry_host")
    assert _store(fronted.entry.port, calling=calling, source=ELSEWHERE, seed=3) == (False, None)
    assert _instances(fronted) == before
    deadline = time.monotonic() + 10  # nginx logs a session when it closes
    while _denied_at_entry(fronted, ELSEWHERE) == denied and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _denied_at_entry(fronted, ELSEWHERE) == denied + 1
    assert _refused_by_replicas(fronted, "entry_host") == counted + 1  # once, by one replica


@pytest.mark.parametrize(
    ("calling", "source"),
    [(A["AET"], B["Host"]), (B["AET"], A["Host"]), ("ANY-SCANNER", A["Host"])],
    ids=["a-from-b-host", "b-from-a-host", "unknown-ae-from-a-host"],
)
def test_an_ae_title_from_another_registered_host_is_refused_and_counted(
    fronted: Fronted, calling: str, source: str
) -> None:
    """The AE title and its host stay paired behind the entry, not just 'some registered host'."""
    before, counted = _instances(fronted), _refused_by_replicas(fronted)
    assert _store(fronted.entry.port, calling=calling, source=source, seed=4) == (False, None)
    assert _instances(fronted) == before
    assert _refused_by_replicas(fronted) == counted + 1


def _global_address() -> str | None:
    """One of this machine's addresses beyond loopback, if it has one."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/", out)
    return found[0] if found else None


@pytest.mark.parametrize("source", ["127.0.0.1", "global"], ids=["loopback", "global-address"])
def test_a_replica_s_own_dicom_port_admits_no_modality(fronted: Fronted, source: str) -> None:
    """Orthanc cannot bind its DICOM server to one address: its port answers on every interface.
    What keeps a modality from going around the entry is that the replicas register modalities
    only at the entry's source addresses."""
    address = _global_address() if source == "global" else source
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    before = _instances(fronted)
    for replica in fronted.replicas:
        attempt = _store(replica.dicom_port, calling=A["AET"], source=address, host=address, seed=5)
        assert attempt == (False, None)
    assert _instances(fronted) == before
