"""pure: network output -> label map on the source grid, small-component clean-up, volumes in mL.

Outputs are decoded as the manifest says: one class per channel (softmax; each label names its
channel, so a BraTS network whose fourth class is "label 4" maps onto segment 3), or overlapping
sigmoid regions (e.g. tumour core, whole tumour, enhancing) painted into labels in order.
"""

from __future__ import annotations

import numpy as np
from neuronova_contracts.manifest import Manifest
from numpy.typing import NDArray
from scipy import ndimage  # type: ignore[import-untyped]

from neuronova_inference.preprocess import Volume, resample


def softmax(logits: NDArray[np.float32], axis: int = 0) -> NDArray[np.float32]:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    out: NDArray[np.float32] = (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
    return out


def sigmoid(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))).astype(np.float32)
    return out


def probabilities(output: NDArray[np.float32], manifest: Manifest) -> NDArray[np.float32]:
    """The network's (K, ...) output as probabilities (per class, or per region)."""
    if output.shape[0] < manifest.output_channels:
        raise ValueError(
            f"model output has {output.shape[0]} channels, "
            f"the manifest needs {manifest.output_channels}"
        )
    if manifest.output_kind == "logits":
        return softmax(output)
    if manifest.output_kind == "sigmoid_logits":
        return sigmoid(output)
    return output.astype(np.float32, copy=False)


def decode(probs: NDArray[np.float32], manifest: Manifest) -> NDArray[np.uint8]:
    """Label values (segment numbers) from probabilities on any grid."""
    if manifest.sigmoid:
        labels = np.zeros(probs.shape[1:], dtype=np.uint8)
        for region in manifest.regions:
            labels[probs[region.channel] > manifest.region_threshold] = region.label
        return labels
    lut = np.zeros(probs.shape[0], dtype=np.uint8)
    for lab in manifest.labels:
        lut[lab.output_channel] = lab.value
    out: NDArray[np.uint8] = lut[np.argmax(probs, axis=0)]
    return out


def labels_on_source(
    probs: NDArray[np.float32],
    model_affine: NDArray[np.float64],
    reference: Volume,
    manifest: Manifest,
) -> NDArray[np.uint8]:
    """Resample probabilities (K, *model shape) to the reference grid, then decode there.

    Interpolating probabilities rather than labels keeps thin structures (an enhancing rim) smooth
    when the model grid is coarser than the acquisition.
    """
    shape = reference.array.shape
    on_source = np.stack(
        [resample(p, model_affine, shape, reference.affine, order=1) for p in probs]
    )
    labels = decode(on_source, manifest)
    # Outside the model's field of view there is no prediction: background.
    ones = np.ones(probs.shape[1:], dtype=np.float32)
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


def drop_coreless_components(
    labels: NDArray[np.uint8], voxel_ml: float, core_labels: tuple[int, ...], min_core_ml: float
) -> NDArray[np.uint8]:
    """Remove connected tumour components (all labels together) that hold less than
    ``min_core_ml`` of ``core_labels``: peritumoural oedema surrounds a tumour, so "oedema" with
    no core in it is a false positive (a model's typical one on normal brain)."""
    if not core_labels or min_core_ml <= 0:
        return labels
    components, n = ndimage.label(labels > 0)
    if n == 0:
        return labels
    core = np.isin(labels, core_labels)
    core_ml = np.bincount(components[core], minlength=n + 1) * voxel_ml
    keep = core_ml >= min_core_ml
    keep[0] = False
    out = labels.copy()
    out[~keep[components]] = 0
    return out


def volumes_ml(labels: NDArray[np.uint8], voxel_ml: float, n_labels: int) -> dict[int, float]:
    counts = np.bincount(labels.ravel(), minlength=n_labels + 1)
    return {value: round(float(counts[value]) * voxel_ml, 3) for value in range(1, n_labels + 1)}
