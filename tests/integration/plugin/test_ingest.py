"""Ingest through the real Orthanc: every pydicom test file and a generated MR series, by C-STORE
(dcmtk storescu) and by REST; stored HTJ2K decodes to the original pixels, the rest is unchanged."""

from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.integration.plugin.conftest import assert_no_plugin_errors
from tests.support.orthanc import OrthancProcess, synthetic_mr_series, write_series
from tests.support.segmentations import binary_seg

HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
CORPUS = sorted(
    p
    for p in Path(get_testdata_file("CT_small.dcm") or "").parent.iterdir()
    if p.suffix.lower() == ".dcm"
)
# One of each input family the issue names; all must arrive as HTJ2K by either route.
MUST_TRANSCODE = {
    "CT_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
    "SC_rgb_jpeg_gdcm.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    "SC_rgb_rle_2frame.dcm",
}
MUST_KEEP = {"JPEG-lossy.dcm", "JPEG2000.dcm", "liver_1frame.dcm", "JPEGLSNearLossless_16.dcm"}


def _read(data: bytes) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data))


def _pixels(data: bytes) -> np.ndarray:
    ds = _read(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.pixel_array_options(as_rgb=False)
        return ds.pixel_array


# storescu option that proposes a file's own transfer syntax (it cannot transcode compressed data).
STORESCU_PROPOSE = {
    "1.2.840.10008.1.2": "-xi",
    "1.2.840.10008.1.2.2": "-xb",
    "1.2.840.10008.1.2.1.99": "-xd",
    "1.2.840.10008.1.2.5": "-xr",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.50": "-xy",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.81": "-xu",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
}


def _propose(path: Path) -> list[str]:
    try:
        transfer_syntax = str(_read(path.read_bytes()).file_meta.TransferSyntaxUID)
    except Exception:  # noqa: BLE001 - storescu will refuse the file itself
        return []
    return ["-R", STORESCU_PROPOSE[transfer_syntax]] if transfer_syntax in STORESCU_PROPOSE else []


def _is_htj2k(stored: bytes) -> bool:
    return (
        stored[128:132] == b"DICM"
        and _read(stored).file_meta.get("TransferSyntaxUID") == HTJ2K_RPCL
    )


def _fresh_uids(path: Path, folder: Path) -> Path:
    """Copy with new study/series/instance UIDs (several corpus files share them)."""
    target = folder / path.name
    try:
        ds = _read(path.read_bytes())
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.save_as(target)
    except Exception:  # noqa: BLE001 - unreadable corpus files are sent as they are
        target.write_bytes(path.read_bytes())
    return target


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Two copies of the corpus with distinct UIDs: one for REST, one for C-STORE."""
    copies = {}
    for route in ("rest", "cstore"):
        folder = tmp_path_factory.mktemp(route)
        copies[route] = [_fresh_uids(p, folder) for p in CORPUS]
    return copies


def _check_stored(stored: bytes, sent: bytes, *, exact_ts: bool) -> str:
    """'' if the stored instance is faithful to the sent one, else what is wrong."""
    if stored[128:132] != b"DICM":  # a bare dataset Orthanc accepted: kept, cannot be re-encoded
        return "" if stored == sent else "bare dataset changed"
    stored_ds = _read(stored)
    stored_ts = str(stored_ds.file_meta.get("TransferSyntaxUID", ""))
    if stored[:128] != b"\0" * 128:
        return "preamble not zeroed"
    if stored_ts != HTJ2K_RPCL:
        # Orthanc itself adds a file meta header to a bare dataset: compare only real files.
        if exact_ts and sent[128:132] == b"DICM" and stored[128:] != sent[128:]:
            return f"kept as {stored_ts} but bytes changed"
        return ""
    sent_ds = _read(sent)
    block = stored_ds.private_block(0x0009, "NEURONOVA")
    if exact_ts and block[0x10].value != sent_ds.file_meta.TransferSyntaxUID:
        return f"original transfer syntax recorded as {block[0x10].value}"
    if not np.array_equal(_pixels(stored), _pixels(sent)):
        return "pixels differ"
    return ""


def _stored_by_sop(orthanc: OrthancProcess, sop_instance_uid: str) -> bytes:
    session = orthanc.session()
    found = session.post(f"{orthanc.url}/tools/lookup", data=sop_instance_uid, timeout=30).json()
    [instance] = [r for r in found if r["Type"] == "Instance"]
    return session.get(f"{orthanc.url}/instances/{instance['ID']}/file", timeout=30).content


def test_corpus_by_rest(orthanc: OrthancProcess, corpus: dict[str, list[Path]]) -> None:
    session, problems, transcoded = orthanc.session(), {}, set()
    for path in corpus["rest"]:
        sent = path.read_bytes()
        answer = session.post(f"{orthanc.url}/instances", data=sent, timeout=60)
        if answer.status_code != 200:
            assert answer.status_code == 400, (path.name, answer.text)  # Orthanc's own refusal
            continue
        if answer.json()["Status"] == "AlreadyStored":
            continue  # files without UIDs collide; the first one was checked
        stored = session.get(f"{orthanc.url}{answer.json()['Path']}/file", timeout=30).content
        if problem := _check_stored(stored, sent, exact_ts=True):
            problems[path.name] = problem
        if _is_htj2k(stored):
            transcoded.add(path.name)
    assert problems == {}
    assert transcoded >= MUST_TRANSCODE
    assert not MUST_KEEP & transcoded
    assert orthanc.is_alive()


def test_corpus_by_cstore(orthanc: OrthancProcess, corpus: dict[str, list[Path]]) -> None:
    # One association per file, proposing only that file's own transfer syntax, like a modality.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda p: orthanc.storescu(*_propose(p), p), corpus["cstore"]))
    assert orthanc.is_alive()
    errors = "".join(r.stderr for r in results)
    problems, transcoded = {}, set()
    for path in corpus["cstore"]:
        sent = path.read_bytes()
        try:
            sop = str(_read(sent).SOPInstanceUID)
            stored = _stored_by_sop(orthanc, sop)
        except (AttributeError, ValueError, pydicom.errors.InvalidDicomError):
            continue  # not sent by storescu (no meta, unknown SOP class...)
        if problem := _check_stored(stored, sent, exact_ts=False):
            problems[path.name] = problem
        if _is_htj2k(stored):
            transcoded.add(path.name)
    assert problems == {}
    assert MUST_TRANSCODE - transcoded == set(), errors[-3000:]
    assert not MUST_KEEP & transcoded


def test_generated_mr_series(orthanc: OrthancProcess, tmp_path: Path) -> None:
    series = synthetic_mr_series(12, seed=3)
    result = orthanc.storescu(*write_series(series, tmp_path))
    assert result.returncode == 0, result.stderr
    total_sent = total_stored = 0
    for ds in series:
        stored = _stored_by_sop(orthanc, ds.SOPInstanceUID)
        stored_ds = _read(stored)
        assert stored_ds.file_meta.TransferSyntaxUID == HTJ2K_RPCL
        assert np.array_equal(_pixels(stored), ds.pixel_array)
        block = stored_ds.private_block(0x0009, "NEURONOVA")
        assert block[0x10].value == "1.2.840.10008.1.2.1"
        total_sent, total_stored = total_sent + len(ds.PixelData), total_stored + len(stored)
    assert total_stored < 0.5 * total_sent


def test_seg_on_a_grid_of_250_columns_is_kept_as_received(
    orthanc: OrthancProcess, tmp_path: Path
) -> None:
    """A BINARY SEG packs its bits across rows, so its Columns need not be a multiple of 8, and
    the inference service writes SEGs on the source's grid. Stored as received, by REST and by
    C-STORE, preamble zeroed. (Orthanc's IngestTranscoding refuses this instance:
    tests/integration/htj2k_codec/test_ingest.py.)"""
    sent = {}
    for route in ("rest", "cstore"):
        seg = binary_seg(synthetic_mr_series(2, rows=250, columns=250))
        buffer = io.BytesIO()
        seg.save_as(buffer, enforce_file_format=True)
        sent[route] = (seg, b"MZ" + b"\x90" * 126 + buffer.getvalue()[128:])
    session = orthanc.session()
    answer = session.post(f"{orthanc.url}/instances", data=sent["rest"][1], timeout=60)
    assert answer.status_code == 200, answer.text
    path = tmp_path / "seg.dcm"
    path.write_bytes(sent["cstore"][1])
    result = orthanc.storescu("-R", path)
    assert result.returncode == 0, result.stderr
    for route, (seg, data) in sent.items():
        stored = _stored_by_sop(orthanc, seg.SOPInstanceUID)
        assert stored[:128] == bytes(128), route
        if route == "rest":
            assert stored[128:] == data[128:]
        else:  # Orthanc writes a C-STORE's dataset into a file of its own
            stored_ds = _read(stored)
            assert stored_ds.file_meta.TransferSyntaxUID == seg.file_meta.TransferSyntaxUID
            assert stored_ds.PixelData == seg.PixelData
            assert (0x0009, 0x0010) not in stored_ds


def test_malformed_inputs_get_orthancs_normal_answer(
    orthanc: OrthancProcess, tmp_path: Path
) -> None:
    good = io.BytesIO()
    synthetic_mr_series(1, rows=32, columns=32)[0].save_as(good, enforce_file_format=True)
    data = good.getvalue()
    bad = {
        "garbage": b"garbage" * 100,
        "preamble-only": b"\0" * 128 + b"DICM",
        "cut-in-header": data[:200],
        "cut-in-pixels": data[: len(data) - 100],
        "bogus-transfer-syntax": data.replace(b"1.2.840.10008.1.2.1\0", b"1.2.3.4.5.6.7.8.9.0\0"),
    }
    session = orthanc.session()
    for name, body in bad.items():
        answer = session.post(f"{orthanc.url}/instances", data=body, timeout=30)
        assert answer.status_code in (200, 400), (name, answer.status_code, answer.text)
        if answer.status_code == 200:  # Orthanc accepted it: the plugin must have kept it
            stored = session.get(f"{orthanc.url}{answer.json()['Path']}/file", timeout=30)
            assert stored.content[128:] == body[128:], name
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(bad["cut-in-pixels"])
    orthanc.storescu(truncated)
    assert orthanc.is_alive()
    assert session.get(f"{orthanc.url}/system", timeout=10).ok
    assert_no_plugin_errors(orthanc.log_text())


def test_four_parallel_associations(orthanc: OrthancProcess, tmp_path: Path) -> None:
    batches = [synthetic_mr_series(200, rows=64, columns=64, seed=s) for s in range(4)]
    folders = [write_series(b, tmp_path / f"a{i}") for i, b in enumerate(batches)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda paths: orthanc.storescu(*paths), folders))
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr[-500:] for r in results]
    session = orthanc.session()
    for batch in batches:
        series_uid = batch[0].SeriesInstanceUID
        [series] = session.post(
            f"{orthanc.url}/tools/find",
            json={"Level": "Series", "Query": {"SeriesInstanceUID": series_uid}},
            timeout=30,
        ).json()
        instances = session.get(f"{orthanc.url}/series/{series}/instances", timeout=30).json()
        assert len(instances) == 200
        by_sop = {ds.SOPInstanceUID: ds for ds in batch}
        for instance in instances:
            _assert_lossless(session, orthanc.url, instance["ID"], by_sop)


def _assert_lossless(
    session: requests.Session, url: str, orthanc_id: str, by_sop: dict[str, pydicom.Dataset]
) -> None:
    stored = session.get(f"{url}/instances/{orthanc_id}/file", timeout=30).content
    stored_ds = _read(stored)
    assert stored_ds.file_meta.TransferSyntaxUID == HTJ2K_RPCL
    assert np.array_equal(_pixels(stored), by_sop[stored_ds.SOPInstanceUID].pixel_array)
