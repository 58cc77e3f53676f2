"""Malformed HTJ2K inside Orthanc's process: broken codestreams and mutated files answer clean
HTTP errors on every decoding route, and Orthanc keeps running (the plugin shares its process).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_fragmented_frames
from pydicom.uid import generate_uid

from tests.integration.htj2k_codec.conftest import Codec
from tests.integration.htj2k_codec.images import KIND, dataset_for, read, to_bytes
from tests.integration.htj2k_codec.support import (
    EXPLICIT_LE,
    HTJ2K_RPCL,
    IMPLICIT_LE,
    RootedOrthanc,
    run_tool,
)


@pytest.fixture(scope="module")
def good(codec: Codec, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A valid HTJ2K multi-frame instance made by the plugin's own encoder."""
    folder = tmp_path_factory.mktemp("malformed")
    src, out = folder / "in.dcm", folder / "out.dcm"
    src.write_bytes(to_bytes(dataset_for(KIND["grey12-multiframe"])))
    done = run_tool(codec.tool, "to-htj2k", src, out, HTJ2K_RPCL, EXPLICIT_LE)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def rebuilt(good: bytes, change: Callable[[Dataset, list[bytes]], list[bytes]]) -> bytes:
    ds = read(good)
    frames = [b"".join(f) for f in generate_fragmented_frames(ds.PixelData, number_of_frames=4)]
    ds.PixelData = encapsulate(change(ds, frames), has_bot=True)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    return to_bytes(ds)


def truncated(_: Dataset, frames: list[bytes]) -> list[bytes]:
    return [frames[0][: len(frames[0]) // 2], *frames[1:]]


def garbage(_: Dataset, frames: list[bytes]) -> list[bytes]:
    noise = random.Random(3).randbytes(len(frames[0]))
    return [frames[0][:2] + noise + b"\xff\xd9", *frames[1:]]


def wrong_size(ds: Dataset, frames: list[bytes]) -> list[bytes]:
    ds.Columns = ds.Columns + 1
    return frames


def missing_frames(ds: Dataset, frames: list[bytes]) -> list[bytes]:
    ds.NumberOfFrames = 9
    return frames


DECODING_ROUTES = ("frames/0/image-uint16", "frames/0/numpy", "frames/0/preview", "rendered")


def answers(orthanc: RootedOrthanc, instance: str) -> list[int]:
    codes = [orthanc.get(f"/instances/{instance}/{route}").status_code for route in DECODING_ROUTES]
    for target in (EXPLICIT_LE, IMPLICIT_LE):
        codes.append(
            orthanc.post(f"/instances/{instance}/modify", {"Transcode": target}).status_code
        )
    return codes


@pytest.mark.parametrize("change", [truncated, garbage, wrong_size, missing_frames])
def test_broken_codestreams_answer_errors(
    orthanc13: RootedOrthanc, good: bytes, change: Callable[[Dataset, list[bytes]], list[bytes]]
) -> None:
    instance = orthanc13.upload(rebuilt(good, change))
    codes = answers(orthanc13, instance)
    assert all(400 <= code < 600 for code in codes), codes
    assert orthanc13.get("/system").ok
    # The intact frames of the truncated instance still decode.
    if change is truncated:
        assert orthanc13.get(f"/instances/{instance}/frames/1/image-uint16").status_code == 200


def test_mutated_files_never_crash_orthanc(
    orthanc13: RootedOrthanc, good: bytes, tmp_path: Path
) -> None:
    """Random truncations, byte flips and overwrites of a whole file, mostly in the pixel data:
    each is refused at upload or answers 200 or an HTTP error on every route, never a crash."""
    rng = random.Random(11)
    for round_ in range(40):
        data = bytearray(good)
        tail = len(data) * 3 // 4
        if round_ % 3 == 0:
            del data[rng.randrange(tail, len(data)) :]
        else:
            for _ in range(rng.randrange(1, 9)):
                data[rng.randrange(tail if round_ % 3 == 1 else 0, len(data))] = rng.randrange(256)
        upload = requests.post(f"{orthanc13.url}/instances", data=bytes(data), timeout=60)
        if upload.ok and upload.json().get("Status") != "AlreadyStored":
            instance = upload.json()["ID"]
            assert all(code < 600 for code in answers(orthanc13, instance))
            assert orthanc13.delete(f"/instances/{instance}").ok
        assert orthanc13.is_alive()
    assert orthanc13.get("/system").ok
