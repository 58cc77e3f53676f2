"""Door 1: only registered modalities store by DICOM; every refused association is logged and
counted.

A real Orthanc with the NeuroNova plugin on the repository's orthanc.json; the attacker is
pynetdicom, calling with an unknown AE title, a registered title from another address (every
127.0.0.0/8 address is this machine's loopback, so 127.0.0.2 is a real other peer), or the wrong
called AE title. The registered modality (AET + host, as `make demo` and the tests register theirs)
stores as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from tests.support.orthanc import OrthancProcess, running_orthanc, synthetic_mr_series

MODALITY = "NN-SEC-MR"
VERIFICATION = "1.2.840.10008.1.1"  # C-ECHO


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancProcess]:
    registered = {MODALITY: {"AET": MODALITY, "Host": "127.0.0.1", "Port": 104}}
    with running_orthanc(
        tmp_path_factory.mktemp("dicom-registration"),
        neuronova={"Ai": False},
        overrides={"DicomModalities": registered},
    ) as running:
        yield running


def _store(
    orthanc: OrthancProcess,
    *,
    calling: str,
    called: str | None = None,
    source: str = "127.0.0.1",
    seed: int,
) -> tuple[bool, int | None]:
    """(association accepted, C-STORE status) for one generated MR slice."""
    (dataset,) = synthetic_mr_series(1, rows=32, columns=32, seed=seed)
    ae = AE(ae_title=calling)
    ae.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate(
        "127.0.0.1",
        orthanc.dicom_port,
        ae_title=called or orthanc.aet,
        bind_address=(source, 0),
    )
    if not assoc.is_established:
        return False, None
    try:
        status = assoc.send_c_store(dataset)
        return True, int(getattr(status, "Status", -1))
    finally:
        assoc.release()


def _instances(orthanc: OrthancProcess) -> int:
    statistics = requests.get(f"{orthanc.url}/statistics", auth=orthanc.auth, timeout=10).json()
    return int(statistics["CountInstances"])


def _refused(orthanc: OrthancProcess) -> dict[str, float]:
    text = requests.get(f"{orthanc.url}/neuronova/metrics", auth=orthanc.auth, timeout=10).text
    pattern = r'^neuronova_dicom_associations_refused_total\{reason="([a-z_]+)"\} (\S+)$'
    return {reason: float(value) for reason, value in re.findall(pattern, text, re.MULTILINE)}


def test_the_registered_modality_stores(orthanc: OrthancProcess) -> None:
    before = _instances(orthanc)
    assert _store(orthanc, calling=MODALITY, seed=1) == (True, 0x0000)
    assert _instances(orthanc) == before + 1


@pytest.mark.parametrize(
    ("attempt", "reason"),
    [
        ({"calling": "ANY-SCANNER"}, "calling_ae_or_host"),
        ({"calling": MODALITY, "source": "127.0.0.2"}, "calling_ae_or_host"),
        ({"calling": MODALITY, "called": "SOMEONE-ELSE"}, "called_ae"),
    ],
    ids=["unknown-calling-ae", "registered-ae-from-another-host", "wrong-called-ae"],
)
def test_an_unregistered_sender_stores_nothing_and_is_counted(
    orthanc: OrthancProcess, attempt: dict[str, str], reason: str
) -> None:
    before, counted = _instances(orthanc), _refused(orthanc).get(reason, 0.0)
    accepted, status = _store(orthanc, seed=2, **attempt)
    assert (accepted, status) == (False, None), "the association must be refused outright"
    assert _instances(orthanc) == before
    assert _refused(orthanc).get(reason, 0.0) == counted + 1
    assert "Rejected association" in orthanc.log_text()


def test_an_unregistered_echo_is_refused_too(orthanc: OrthancProcess) -> None:
    ae = AE(ae_title="PROBE")
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", orthanc.dicom_port, ae_title=orthanc.aet)
    established = assoc.is_established
    if established:
        assoc.release()
    assert not established


def test_the_shipped_configuration_checks_every_door() -> None:
    config = OrthancProcess(workdir=Path("/nonexistent")).render_config()
    assert config["DicomAlwaysAllowStore"] is False
    assert config["DicomAlwaysAllowEcho"] is False
    assert config["DicomCheckCalledAet"] is True
    assert config["DicomCheckModalityHost"] is True
    for key in ("DicomAlwaysAllowFind", "DicomAlwaysAllowGet", "DicomAlwaysAllowMove"):
        assert config.get(key, False) is False, key
