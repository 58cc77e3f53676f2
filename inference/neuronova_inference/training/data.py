"""pure: training/evaluation examples: a phantom on a random acquisition grid, in model space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neuronova_inference.manifest import Manifest
from neuronova_inference.preprocess import Volume, resample, to_model_space
from neuronova_inference.synthetic.phantom import Grid, Phantom, axial_grid, render


def acquisition_grid(seed: int) -> Grid:
    """A plausible axial 2-D acquisition: 1.8-3.4 mm pixels, 2.5-6 mm slices, ~215 x 160 mm FOV."""
    rng = np.random.default_rng(seed + 7_919)
    pixel = float(rng.uniform(1.8, 3.4))
    slice_mm = float(rng.uniform(2.5, 6.0))
    n_inplane = round(215.0 / pixel)
    n_slices = round(160.0 / slice_mm)
    centre = rng.uniform(-5, 5, size=3)
    return axial_grid((n_slices, n_inplane, n_inplane), (slice_mm, pixel, pixel), centre)


def demo_grid(small: bool = False) -> Grid:
    """The grid of `make demo` studies (and, ``small``, of integration tests)."""
    if small:
        return axial_grid((20, 64, 64), (7.0, 3.3, 3.3), np.zeros(3))
    return axial_grid((40, 96, 96), (4.0, 2.2, 2.2), np.zeros(3))


def phantom_volumes(phantom: Phantom, manifest: Manifest) -> list[Volume]:
    return [Volume(phantom.images[spec.name], phantom.grid.affine) for spec in manifest.inputs]


@dataclass(frozen=True)
class Example:
    image: NDArray[np.float32]  # (C, *model shape)
    labels: NDArray[np.uint8]  # model shape


def make_example(seed: int, manifest: Manifest) -> Example:
    phantom = render(seed, acquisition_grid(seed))
    x, affine = to_model_space(
        phantom_volumes(phantom, manifest), manifest.grid, manifest.normalisation
    )
    y = resample(
        phantom.labels.astype(np.float32), phantom.grid.affine, manifest.grid.shape, affine, order=0
    )
    return Example(image=x[0], labels=y.astype(np.uint8))


def dice(pred: NDArray[np.uint8], truth: NDArray[np.uint8], value: int) -> float:
    p = pred == value
    t = truth == value
    denom = int(p.sum()) + int(t.sum())
    return 1.0 if denom == 0 else 2.0 * int((p & t).sum()) / denom
