"""pure: quality control of one result: left-right flip agreement and entropy in the tumour.

Two cheap signals that a result may be wrong: the network changes its answer when the head is
mirrored (brains are nearly symmetric and the model was trained with mirroring), and its class
probabilities are spread out inside what it calls tumour. The score is their product, in
[0, 1]; a result under the manifest's threshold is marked "needs review".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from neuronova_contracts.manifest import GridSpec, Manifest
from numpy.typing import NDArray

from neuronova_inference.postprocess import decode

CANDIDATE_PROBABILITY = 0.25  # near misses count too, so an empty result can be unsure


@dataclass(frozen=True)
class Quality:
    score: float
    flip_dice: float | None  # None when the manifest turns the flip off
    entropy: float  # mean normalised entropy over the (candidate) tumour voxels
    tumour_ml: float  # on the model grid
    threshold: float

    @property
    def needs_review(self) -> bool:
        return self.score < self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "flip_dice": None if self.flip_dice is None else round(self.flip_dice, 4),
            "entropy": round(self.entropy, 4),
            "tumour_ml_model_grid": round(self.tumour_ml, 3),
            "threshold": self.threshold,
            "needs_review": self.needs_review,
            "method": "flip agreement x (1 - entropy in tumour)",
        }


def lr_axis(grid: GridSpec) -> int:
    """Index of the left-right axis among the model grid's three array axes."""
    return 2 if grid.axis_order == "zyx" else 0


def flip_lr(x: NDArray[np.float32], grid: GridSpec) -> NDArray[np.float32]:
    """Mirror a (..., a, b, c) array left-right in the model grid."""
    axis = x.ndim - 3 + lr_axis(grid)
    return np.ascontiguousarray(np.flip(x, axis=axis))


def _entropy(probs: NDArray[np.float32], sigmoid: bool) -> NDArray[np.float32]:
    p = np.clip(probs, 1e-6, 1.0)
    if sigmoid:
        q = np.clip(1.0 - probs, 1e-6, 1.0)
        h = -(p * np.log(p) + q * np.log(q)).mean(axis=0) / np.log(2.0)
    else:
        h = -(p * np.log(p)).sum(axis=0) / np.log(probs.shape[0])
    out: NDArray[np.float32] = h.astype(np.float32)
    return out


def _tumour_probability(probs: NDArray[np.float32], manifest: Manifest) -> NDArray[np.float32]:
    if manifest.sigmoid:
        out: NDArray[np.float32] = np.max(probs[[r.channel for r in manifest.regions]], axis=0)
        return out
    background: NDArray[np.float32] = probs[0]
    return (1.0 - background).astype(np.float32)


def _dice(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def combine(plain: NDArray[np.float32], flipped: NDArray[np.float32] | None) -> NDArray[np.float32]:
    """The probabilities a result is decoded from: the mean of both passes when there are two."""
    if flipped is None:
        return plain
    out: NDArray[np.float32] = ((plain + flipped) / 2).astype(np.float32)
    return out


def assess(
    plain: NDArray[np.float32],
    flipped: NDArray[np.float32] | None,
    manifest: Manifest,
    voxel_ml: float,
) -> Quality:
    """Quality of a result from the probabilities of the input and, optionally, of the mirrored
    input (already mirrored back)."""
    probs = combine(plain, flipped)
    tumour = decode(probs, manifest) > 0
    region = tumour | (_tumour_probability(probs, manifest) > CANDIDATE_PROBABILITY)
    entropy = float(_entropy(probs, manifest.sigmoid)[region].mean()) if region.any() else 0.0
    flip_dice = None
    if flipped is not None:
        flip_dice = _dice(decode(plain, manifest) > 0, decode(flipped, manifest) > 0)
    score = (1.0 if flip_dice is None else flip_dice) * (1.0 - entropy)
    return Quality(
        score=float(score),
        flip_dice=flip_dice,
        entropy=entropy,
        tumour_ml=float(tumour.sum()) * voxel_ml,
        threshold=manifest.qc.threshold,
    )
