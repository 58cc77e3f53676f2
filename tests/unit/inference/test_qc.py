"""Quality control at inference: flip agreement x (1 - entropy in the tumour), "needs review"."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
from neuronova_contracts.manifest import Manifest, QcSpec, parse_manifest
from neuronova_inference.decode import pixels
from neuronova_inference.pipeline import run_study
from neuronova_inference.postprocess import decode
from numpy.typing import NDArray

from tests.support.synthetic import manifest_raw, oracle_predictor, shipped_manifest, tiny_study


def _manifest(threshold: float) -> Manifest:
    return replace(shipped_manifest(), qc=QcSpec(flip=True, threshold=threshold))


def test_a_confident_consistent_result_passes_and_the_seg_says_nothing() -> None:
    study, manifest = tiny_study(), _manifest(0.5)
    result = run_study(
        "x", manifest, study, predict=oracle_predictor(study, manifest), decode=pixels
    )
    assert result.quality.flip_dice == 1.0
    assert result.quality.score > 0.95
    assert not result.quality.needs_review
    assert not str(result.seg.SeriesDescription).startswith("NEEDS REVIEW")


def test_a_result_that_changes_when_the_head_is_mirrored_needs_review() -> None:
    study, manifest = tiny_study(), _manifest(0.5)
    oracle = oracle_predictor(study, manifest)
    first: dict[str, Any] = {}

    def blind(x: NDArray[np.float32]) -> NDArray[np.float32]:
        # Answers the unmirrored truth whatever it is given: mirrored, it disagrees.
        first.setdefault("x", x)
        return oracle(first["x"])

    result = run_study("x", manifest, study, predict=blind, decode=pixels)
    assert result.quality.flip_dice is not None
    assert result.quality.flip_dice < 0.5
    assert result.quality.needs_review
    assert str(result.seg.SeriesDescription).startswith("NEEDS REVIEW")
    summary = result.quality.as_dict()
    assert summary["needs_review"] is True
    assert summary["threshold"] == 0.5


def test_hesitant_probabilities_lower_the_score() -> None:
    study, manifest = tiny_study(), _manifest(0.0)
    oracle = oracle_predictor(study, manifest)
    sure = run_study("x", manifest, study, predict=oracle, decode=pixels)
    unsure = run_study("x", manifest, study, predict=lambda x: oracle(x) * 0.15, decode=pixels)
    assert unsure.quality.entropy > sure.quality.entropy + 0.3
    assert unsure.quality.score < sure.quality.score - 0.3
    # Same labels: hesitation is reported, not silently turned into another answer.
    np.testing.assert_array_equal(unsure.labels, sure.labels)


def test_an_empty_confident_result_is_not_flagged() -> None:
    study, manifest = tiny_study(), _manifest(0.5)

    def nothing(x: NDArray[np.float32]) -> NDArray[np.float32]:
        out = np.zeros((1, 4, *x.shape[2:]), np.float32)
        out[:, 0] = 10.0
        return out

    result = run_study("x", manifest, study, predict=nothing, decode=pixels)
    assert sum(result.volumes_ml.values()) == 0.0
    assert result.quality.score == 1.0
    assert not result.quality.needs_review


def test_sigmoid_regions_are_painted_into_labels_in_order() -> None:
    """MONAI's BraTS networks answer tumour core, whole tumour and enhancing (overlapping)."""
    raw = copy.deepcopy(manifest_raw())
    raw["onnx"]["output_kind"] = "sigmoid_probabilities"
    raw["output"] = {
        "regions": [
            {"channel": 1, "label": 2},  # whole tumour -> oedema
            {"channel": 0, "label": 1},  # tumour core -> necrotic core
            {"channel": 2, "label": 3},  # enhancing
        ],
        "threshold": 0.5,
    }
    manifest = parse_manifest(raw)
    probs = np.zeros((3, 1, 1, 5), np.float32)
    probs[1, 0, 0, 1:] = 0.9  # whole tumour on voxels 1..4
    probs[0, 0, 0, 2:] = 0.8  # core on 2..4
    probs[2, 0, 0, 3] = 0.7  # enhancing on 3
    assert decode(probs, manifest).ravel().tolist() == [0, 2, 1, 3, 1]
