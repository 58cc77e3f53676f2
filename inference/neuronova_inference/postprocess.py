"""pure: network output -> label map on the source grid, small-component clean-up, volumes in mL."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

from neuronova_inference.preprocess import Volume, resample


def softmax(logits: NDArray[np.float32], axis: int = 0) -> NDArray[np.float32]:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    out: NDArray[np.float32] = (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
    return out


def labels_on_source(
    probabilities: NDArray[np.float32],
    model_affine: NDArray[np.float64],
    reference: Volume,
) -> NDArray[np.uint8]:
    """Resample class probabilities (C, *model shape) to the reference grid, then argmax.

    Interpolating probabilities rather than labels keeps thin structures (an enhancing rim) smooth
    when the model grid is coarser than the acquisition.
    """
    shape = reference.array.shape
    best = np.zeros(shape, dtype=np.float32)
    labels = np.zeros(shape, dtype=np.uint8)
    for cls in range(probabilities.shape[0]):
        p = resample(probabilities[cls], model_affine, shape, reference.affine, order=1)
        better = p > best
        labels[better] = cls
        best[better] = p[better]
    # Outside the model's field of view there is no prediction: background.
    ones = np.ones(probabilities.shape[1:], dtype=np.float32)
    inside = resample(ones, model_affine, shape, reference.affine, order=0) > 0
    labels[~inside] = 0
    return labels


def drop_small_components(
    labels: NDArray[np.uint8], voxel_ml: float, min_ml: float
) -> NDArray[np.uint8]:
    """Remove connected tumour components (all labels together) smaller than ``min_ml``."""
    if min_ml <= 0:
        return labels
    components, n = ndimage.label(labels > 0)
    if n == 0:
        return labels
    sizes = np.bincount(components.ravel()) * voxel_ml
    keep = sizes >= min_ml
    keep[0] = False
    out = labels.copy()
    out[~keep[components]] = 0
    return out


def volumes_ml(labels: NDArray[np.uint8], voxel_ml: float, n_labels: int) -> dict[int, float]:
    counts = np.bincount(labels.ravel(), minlength=n_labels + 1)
    return {value: round(float(counts[value]) * voxel_ml, 3) for value in range(1, n_labels + 1)}
