"""Door 7: uploads. A malformed zip member is one rejected file, never a 500 that forgets what was
already stored; uploads are streamed to disk (bounded memory), capped (size, zip ratio,
concurrency) and chunked bodies (no Content-Length) work through nginx."""

from __future__ import annotations

import dataclasses
import io
import struct
import threading
import uuid
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import pytest
import requests
from accounts import services as account_services
from django.conf import settings
from django.test import Client
from urllib3 import encode_multipart_formdata

from tests.support.hardened import ASSIGNED_PATIENT, Hardened, detail, mr_file, peak_rss_kib
from tests.support.portal_fakes import FakeOrthanc, bearer

ENCRYPTED = 0x1


def _patch_member(data: bytearray, name: str, *, flags: int = 0, method: int | None = None) -> None:
    """Set general-purpose flags / the compression method of ``name`` in both of its headers."""
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = archive.getinfo(name).header_offset
    cd = data.rfind(b"PK\x05\x06")
    central = struct.unpack_from("<I", data, cd + 16)[0]
    while data[central : central + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46 : central + 46 + name_len].decode() == name:
            break
        central += 46 + name_len + extra_len + comment_len
    for flag_at, method_at in ((local + 6, local + 8), (central + 8, central + 10)):
        struct.pack_into("<H", data, flag_at, struct.unpack_from("<H", data, flag_at)[0] | flags)
        if method is not None:
            struct.pack_into("<H", data, method_at, method)


def malformed_zip(good_first: bytes, good_last: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("good-first.dcm", good_first)
        archive.writestr("encrypted.dcm", good_first)
        archive.writestr("corrupt-deflate.dcm", b"\x00" * 4096)
        archive.writestr("unknown-method.dcm", good_first)
        archive.writestr("good-last.dcm", good_last)
    data = bytearray(buffer.getvalue())
    _patch_member(data, "encrypted.dcm", flags=ENCRYPTED)
    _patch_member(data, "unknown-method.dcm", method=99)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("corrupt-deflate.dcm")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start : start + 8] = b"\xff" * 8  # an invalid deflate block type
    return bytes(data)


def test_malformed_zip_members_are_per_file_results_and_stored_files_are_audited(
    hardened: Hardened,
) -> None:
    study_a, first = mr_file()
    study_b, last = mr_file()
    _, after = mr_file(study_uid=study_a)
    answer = hardened.upload([("bad.zip", malformed_zip(first, last)), ("after.dcm", after)])
    assert answer.status_code == 200, detail(answer)
    results = {r["name"]: r for r in answer.json()["results"]}
    assert results["bad.zip:good-first.dcm"]["status"] == "stored"
    assert results["bad.zip:good-last.dcm"]["status"] == "stored"
    assert results["after.dcm"]["status"] == "stored"
    for bad in ("encrypted.dcm", "corrupt-deflate.dcm", "unknown-method.dcm"):
        result = results[f"bad.zip:{bad}"]
        assert result["status"] == "rejected", result
        assert result["reason"], result
    audited = {r["study_uid"] for r in hardened.audit_rows() if r["action"] == "upload"}
    assert {study_a, study_b} <= audited
    # what was stored is mirrored at once: the uploader opens both studies
    headers = hardened.bearer("clinician")
    for study in (study_a, study_b):
        shown = requests.get(f"{hardened.url}/api/studies/{study}", headers=headers, timeout=60)
        assert shown.status_code == 200, (study, shown.status_code)


def _chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_chunked_upload_without_content_length_is_stored(hardened: Hardened) -> None:
    study, data = mr_file()
    body, content_type = encode_multipart_formdata(
        [("files", ("chunked.dcm", data, "application/dicom"))]
    )
    answer = requests.post(
        f"{hardened.url}/api/pacs/upload",
        data=_chunked(body),  # a generator: requests sends Transfer-Encoding: chunked
        headers={**hardened.bearer("clinician"), "Content-Type": content_type},
        timeout=120,
    )
    assert answer.status_code == 200, detail(answer)
    assert [r["status"] for r in answer.json()["results"]] == ["stored"]
    assert answer.json()["results"][0]["study_uid"] == study


def test_chunked_upload_over_the_cap_is_refused_before_anything_is_stored(
    hardened: Hardened,
) -> None:
    study, data = mr_file()
    filler = b"\0" * (25 * 1024 * 1024)  # PORTAL_UPLOAD_MAX_BYTES is 24 MiB in this chain
    body, content_type = encode_multipart_formdata(
        [
            ("files", ("first.dcm", data, "application/dicom")),
            ("files", ("filler.bin", filler, "application/octet-stream")),
        ]
    )
    answer = requests.post(
        f"{hardened.url}/api/pacs/upload",
        data=_chunked(body),
        headers={**hardened.bearer("clinician"), "Content-Type": content_type},
        timeout=120,
    )
    assert answer.status_code == 413, detail(answer)
    found = requests.post(
        f"{hardened.chain.orthanc.url}/tools/find",
        json={"Level": "Study", "Query": {"StudyInstanceUID": study}},
        auth=hardened.chain.orthanc.auth,
        timeout=60,
    )
    assert found.json() == []


def test_uploads_stream_to_disk_instead_of_memory(hardened: Hardened) -> None:
    """A 10 MiB file and a zip of a 10 MiB member: no gunicorn worker's peak memory grows by
    anything near their size (the file is read from disk in small pieces)."""
    big = uuid.uuid4().bytes * (10 * 1024 * 1024 // 16)  # not DICOM: read, then rejected
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("big.bin", big)
    hardened.upload([("warm-up.dcm", mr_file()[1])])
    before = {pid: peak_rss_kib(pid) for pid in hardened.gunicorn_pids()}
    answer = hardened.upload([("big.bin", big), ("big.zip", packed.getvalue())])
    assert answer.status_code == 200, detail(answer)
    assert [r["status"] for r in answer.json()["results"]] == ["rejected", "rejected"]
    growth_kib = {pid: peak_rss_kib(pid) - peak for pid, peak in before.items()}
    assert max(growth_kib.values()) < 5 * 1024, growth_kib


def test_zip_bomb_members_are_refused_by_ratio(hardened: Hardened) -> None:
    _, good = mr_file()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("good.dcm", good)
        archive.writestr("bomb.dcm", b"\0" * (16 * 1024 * 1024))  # ~1000:1
    answer = hardened.upload([("bomb.zip", packed.getvalue())])
    assert answer.status_code == 200, detail(answer)
    results = {r["name"]: r for r in answer.json()["results"]}
    assert results["bomb.zip:good.dcm"]["status"] == "stored"
    assert results["bomb.zip:bomb.dcm"]["status"] == "rejected"
    assert "ratio" in results["bomb.zip:bomb.dcm"]["reason"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_beyond_the_cap_are_told_to_retry(
    fake_orthanc: FakeOrthanc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process (the slot is per gunicorn worker process): while one upload is being stored,
    a second one in the same process gets 429 at once instead of queueing behind it."""
    from pacs import upload_views  # noqa: PLC0415 - after Django is configured

    config = settings.CONFIG
    one_slot = dataclasses.replace(config.security, upload_concurrency=1)
    monkeypatch.setattr(settings, "CONFIG", dataclasses.replace(config, security=one_slot))
    upload_views.slots.cache_clear()
    account_services.seed_dev_users()
    entered, release = threading.Event(), threading.Event()
    store = fake_orthanc.store

    def blocking_store(dicom: IO[bytes]) -> tuple[int, dict[str, Any]]:
        entered.set()
        release.wait(timeout=60)
        return store(dicom)

    monkeypatch.setattr(fake_orthanc, "store", blocking_store)
    headers = bearer(Client(), "clinician")
    codes: list[int] = []

    def upload() -> None:
        data = io.BytesIO(mr_file(ASSIGNED_PATIENT)[1])
        data.name = "slow.dcm"
        codes.append(
            Client().post("/api/pacs/upload", {"files": [data]}, **headers).status_code  # type: ignore[arg-type]
        )

    first = threading.Thread(target=upload)
    first.start()
    try:
        assert entered.wait(timeout=60)
        upload()  # the second, while the first holds the only slot
        assert codes == [429], codes
    finally:
        release.set()
        first.join(timeout=60)
        upload_views.slots.cache_clear()
    assert codes == [429, 200], codes
