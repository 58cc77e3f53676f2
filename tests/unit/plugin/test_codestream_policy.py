"""Codestream header reading and the re-encoding policy (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import imagecodecs
import numpy as np
import pytest
from neuronova_plugin.codestream import CodestreamError, read_main_header
from neuronova_plugin.policy import (
    HTJ2K_LOSSLESS,
    HTJ2K_LOSSLESS_RPCL,
    ImageHeader,
    decide,
    label_for,
)

MR = ImageHeader(
    transfer_syntax="1.2.840.10008.1.2.1",
    sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
    has_pixel_data=True,
    photometric="MONOCHROME2",
    samples_per_pixel=1,
    bits_allocated=16,
    bits_stored=12,
    pixel_representation=0,
)


def test_openjph_writes_rpcl_with_tlm_when_asked() -> None:
    image = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    info = read_main_header(bytes(imagecodecs.htj2k_encode(image, reversible=True, tlm=True)))
    assert info.progression == "RPCL"
    assert info.tlm
    assert info.reversible
    assert info.htj2k
    assert info.components == 1
    without = read_main_header(bytes(imagecodecs.htj2k_encode(image, reversible=True)))
    assert not without.tlm


def test_rgb_uses_the_reversible_colour_transform() -> None:
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    info = read_main_header(bytes(imagecodecs.htj2k_encode(image, reversible=True, tlm=True)))
    assert info.mct
    assert info.components == 3


@pytest.mark.parametrize("data", [b"", b"\xff\x4f", b"not a codestream", b"\xff\x4f\xff\x51\x00"])
def test_rejects_garbage(data: bytes) -> None:
    with pytest.raises(CodestreamError):
        read_main_header(data)


def test_label_is_rpcl_only_with_rpcl_and_tlm() -> None:
    assert label_for(progression="RPCL", tlm=True) == HTJ2K_LOSSLESS_RPCL
    assert label_for(progression="RPCL", tlm=False) == HTJ2K_LOSSLESS
    assert label_for(progression="LRCP", tlm=True) == HTJ2K_LOSSLESS


@pytest.mark.parametrize(
    "transfer_syntax",
    [
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.90",
    ],
)
def test_uncompressed_and_lossless_are_eligible(transfer_syntax: str) -> None:
    header = replace(MR, transfer_syntax=transfer_syntax)
    assert decide(header, transcode=True, colour=True).transcode


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"transfer_syntax": "1.2.840.10008.1.2.4.50"}, "lossy-or-unsupported-compression"),
        ({"transfer_syntax": "1.2.840.10008.1.2.4.91"}, "lossy-or-unsupported-compression"),
        ({"transfer_syntax": "1.2.840.10008.1.2.4.81"}, "lossy-or-unsupported-compression"),
        ({"transfer_syntax": "1.2.840.10008.1.2.4.102"}, "lossy-or-unsupported-compression"),
        ({"transfer_syntax": "1.2.840.10008.1.2.4.202"}, "already-htj2k"),
        ({"transfer_syntax": "1.2.3.4"}, "unknown-transfer-syntax"),
        ({"sop_class_uid": "1.2.840.10008.5.1.4.1.1.66.4"}, "excluded-sop-class"),
        ({"has_pixel_data": False}, "no-pixel-data"),
        ({"bits_allocated": 32, "bits_stored": 32}, "bits-allocated"),
        ({"bits_allocated": 1, "bits_stored": 1}, "bits-allocated"),
        ({"bits_stored": 17}, "bits-stored"),
        ({"photometric": "YBR_FULL_422", "samples_per_pixel": 3}, "photometric-interpretation"),
        ({"photometric": "RGB", "samples_per_pixel": 3}, "photometric-interpretation"),  # 16-bit
        ({"has_icon_image": True}, "icon-image"),
    ],
)
def test_kept_with_reason(change: dict[str, Any], reason: str) -> None:
    header = replace(MR, **change)
    decision = decide(header, transcode=True, colour=True)
    assert not decision.transcode
    assert decision.reason == reason


def test_rgb_8bit_follows_the_colour_switch() -> None:
    rgb = replace(MR, photometric="RGB", samples_per_pixel=3, bits_allocated=8, bits_stored=8)
    assert decide(rgb, transcode=True, colour=True).transcode
    assert decide(rgb, transcode=True, colour=False).reason == "colour-disabled"
    assert decide(MR, transcode=False, colour=True).reason == "transcode-disabled"
