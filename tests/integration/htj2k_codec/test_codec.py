"""The codec itself (its command-line tool, built in the runtime root): round trips per pixel
format, independent decoders, the .202 codestream rules, the policy, and a fuzz run under ASan.

Integration tier: it compiles and runs native code inside the Debian sid root.
"""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from neuronova_plugin.codestream import read_main_header
from neuronova_plugin.transcode import transcode
from pydicom.encaps import generate_fragmented_frames
from pydicom.uid import JPEGBaseline8Bit, RLELossless

from tests.integration.htj2k_codec.conftest import Codec
from tests.integration.htj2k_codec.images import (
    KIND,
    KINDS,
    Kind,
    dataset_for,
    frames_of,
    pixels_for,
    read,
    to_bytes,
)
from tests.integration.htj2k_codec.support import EXPLICIT_LE, HTJ2K_RPCL, run_tool

SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"


def encode(codec: Codec, tmp_path: Path, data: bytes, original: str = EXPLICIT_LE) -> bytes:
    src, out = tmp_path / "in.dcm", tmp_path / "out.dcm"
    src.write_bytes(data)
    done = run_tool(codec.tool, "to-htj2k", src, out, HTJ2K_RPCL, original)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def to_native(codec: Codec, tmp_path: Path, data: bytes) -> bytes:
    src, out = tmp_path / "h.dcm", tmp_path / "n.dcm"
    src.write_bytes(data)
    done = run_tool(codec.tool, "to-native", src, out)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def codestreams(data: bytes) -> list[bytes]:
    ds = read(data)
    frames = int(ds.get("NumberOfFrames") or 1)
    return [b"".join(f) for f in generate_fragmented_frames(ds.PixelData, number_of_frames=frames)]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_round_trip_is_lossless(codec: Codec, tmp_path: Path, kind: Kind) -> None:
    original = dataset_for(kind)
    htj2k = encode(codec, tmp_path, to_bytes(original))
    back = read(to_native(codec, tmp_path, htj2k))
    assert read(htj2k).file_meta.TransferSyntaxUID == HTJ2K_RPCL
    assert back.file_meta.TransferSyntaxUID == EXPLICIT_LE
    assert np.array_equal(frames_of(back), pixels_for(kind))
    # Everything but the pixel encoding (and the private record of the original) is unchanged.
    changed = {"PixelData", "PhotometricInterpretation", "PlanarConfiguration"}
    for element in original:
        if element.keyword not in changed:
            assert back[element.tag] == element, element.keyword
    assert back.PhotometricInterpretation == kind.photometric
    if kind.samples == 3:
        assert read(htj2k).PhotometricInterpretation == "YBR_RCT"
        assert back.PlanarConfiguration == 0


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_other_decoders_read_our_codestreams(codec: Codec, tmp_path: Path, kind: Kind) -> None:
    """OpenJPEG (pydicom + pylibjpeg) and imagecodecs' OpenJPH read the same pixels."""
    htj2k = encode(codec, tmp_path, to_bytes(dataset_for(kind)))
    expected = pixels_for(kind)
    assert np.array_equal(frames_of(read(htj2k)), expected)
    for index, stream in enumerate(codestreams(htj2k)):
        assert np.array_equal(imagecodecs.htj2k_decode(stream), expected[index])


def test_codestreams_meet_the_rpcl_syntax_rules(codec: Codec, tmp_path: Path) -> None:
    """PS3.5 10.18: RPCL, TLM markers, base resolution at most 64 pixels; reversible, HT."""
    wide = Kind("wide", 16, 12, signed=False, rows=9, columns=4100)
    for kind in (KIND["grey12"], wide):
        (stream,) = codestreams(encode(codec, tmp_path, to_bytes(dataset_for(kind))))
        info = read_main_header(stream)
        assert (info.progression, info.tlm, info.reversible, info.htj2k) == (
            "RPCL",
            True,
            True,
            True,
        )
        decompositions = stream[stream.index(b"\xff\x52") + 9]  # COD: SPcod's first byte
        assert -(-max(kind.rows, kind.columns) // (1 << decompositions)) <= 64


def test_reads_what_the_python_plugin_stores(codec: Codec, tmp_path: Path) -> None:
    """Files written by neuronova_plugin.transcode (imagecodecs: 16-bit precision, no
    tile-parts, YBR_RCT colour) decode to the original pixels."""
    for kind in (KIND["grey12-multiframe"], KIND["signed12"], KIND["rgb8"]):
        result = transcode(to_bytes(dataset_for(kind)))
        assert result.data is not None, result.reason
        back = read(to_native(codec, tmp_path, result.data))
        assert np.array_equal(frames_of(back), pixels_for(kind))


def test_frame_decoding_picks_the_right_frame(codec: Codec, tmp_path: Path) -> None:
    kind = KIND["grey12-multiframe"]
    path = tmp_path / "mf.dcm"
    path.write_bytes(encode(codec, tmp_path, to_bytes(dataset_for(kind))))
    for index in range(kind.frames):
        raw = tmp_path / f"f{index}.raw"
        done = run_tool(codec.tool, "frame", path, str(index), raw)
        assert done.returncode == 0, done.stderr
        frame = np.fromfile(raw, "<i4").reshape(kind.rows, kind.columns)
        assert np.array_equal(frame, pixels_for(kind)[index])
    done = run_tool(codec.tool, "frame", path, str(kind.frames), tmp_path / "x")
    assert done.returncode == 1
    assert "no such frame" in done.stderr


def test_records_the_original_transfer_syntax_once(codec: Codec, tmp_path: Path) -> None:
    first = read(encode(codec, tmp_path, to_bytes(dataset_for(KIND["grey12"])), RLELossless))
    block = first.private_block(0x0009, "NEURONOVA")
    assert block[0x10].value == RLELossless
    assert block[0x11].value.startswith("neuronova-htj2k-codec ")
    # decoded and encoded again: the block still names the syntax it first arrived in
    again = read(encode(codec, tmp_path, to_native(codec, tmp_path, to_bytes(first))))
    assert again.private_block(0x0009, "NEURONOVA")[0x10].value == RLELossless


def refused(codec: Codec, tmp_path: Path, data: bytes, original: str = EXPLICIT_LE) -> str:
    src = tmp_path / "refused.dcm"
    src.write_bytes(data)
    done = run_tool(codec.tool, "to-htj2k", src, tmp_path / "x", HTJ2K_RPCL, original)
    assert done.returncode == 1
    return done.stderr.strip()


def test_policy_keeps_what_must_stay_as_received(codec: Codec, tmp_path: Path) -> None:
    grey = KIND["grey12"]
    assert refused(codec, tmp_path, to_bytes(dataset_for(grey)), JPEGBaseline8Bit) == (
        "refused: lossy-or-unsupported-compression"
    )
    seg = dataset_for(grey)
    seg.SOPClassUID = SEGMENTATION
    assert refused(codec, tmp_path, to_bytes(seg)) == "refused: excluded-sop-class"
    noisy = pixels_for(grey).copy()
    noisy[0, 5, 5] = 5000  # above Bits Stored (12): re-encoding the value would drop a bit
    assert refused(codec, tmp_path, to_bytes(dataset_for(grey, noisy))) == (
        "refused: bits-above-high-bit"
    )
    icon = dataset_for(grey)
    icon.IconImageSequence = [dataset_for(KIND["grey8"])]
    assert refused(codec, tmp_path, to_bytes(icon)) == "refused: icon-image"
    no_pixels = dataset_for(grey)
    del no_pixels.PixelData
    assert refused(codec, tmp_path, to_bytes(no_pixels)) == "refused: no-pixel-data"


@pytest.mark.parametrize("kind", ["grey12-multiframe", "rgb8", "signed16"])
def test_fuzzed_inputs_fail_cleanly_under_asan(codec: Codec, tmp_path: Path, kind: str) -> None:
    """Truncated, flipped, overwritten and padded files through every entry point Orthanc
    reaches (decode a frame, HTJ2K to native, native to HTJ2K), with AddressSanitizer and UBSan:
    errors are exceptions, never a crash or a bad read."""
    native = to_bytes(dataset_for(KIND[kind]))
    for name, data in (("htj2k.dcm", encode(codec, tmp_path, native)), ("native.dcm", native)):
        path = tmp_path / name
        path.write_bytes(data)
        done = run_tool(codec.asan, "fuzz", path, "400", "7")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "no crash" in done.stdout
