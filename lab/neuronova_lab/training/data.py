"""pure: training/evaluation examples: a randomised phantom study, in model space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from neuronova_contracts.manifest import Manifest
from neuronova_inference.preprocess import Volume, to_model_space
from numpy.typing import NDArray

from neuronova_lab.synthetic.geometry import demo_grid
from neuronova_lab.synthetic.phantom import Grid, Phantom, draw_study, render_study, sample
from neuronova_lab.synthetic.ranges import Ranges

__all__ = ["Example", "demo_grid", "dice", "make_example", "phantom_volumes"]


def phantom_volumes(phantom: Phantom, manifest: Manifest) -> list[Volume]:
    """The manifest's inputs as the pipeline would build them from the stored pixels."""
    return [
        Volume(s.pixels.astype(np.float32), s.grid.affine)
        for s in (phantom.by_sequence(spec.name) for spec in manifest.inputs)
    ]


@dataclass(frozen=True)
class Example:
    image: NDArray[np.float32]  # (C, *model shape)
    labels: NDArray[np.uint8]  # model shape


def make_example(seed: int, manifest: Manifest, ranges: Ranges) -> Example:
    """One randomised study in model space; the target is the phantom's own 1 mm anatomy."""
    phantom = render_study(draw_study(seed, ranges))
    x, affine = to_model_space(
        phantom_volumes(phantom, manifest),
        manifest.grid,
        manifest.normalisation,
        manifest.reference_index,
    )
    y = sample(phantom.object_labels, phantom.object_grid, Grid(manifest.grid.shape, affine), 0)
    return Example(image=x[0], labels=y.astype(np.uint8))


def dice(pred: NDArray[np.uint8], truth: NDArray[np.uint8], value: int) -> float:
    p = pred == value
    t = truth == value
    denom = int(p.sum()) + int(t.sum())
    return 1.0 if denom == 0 else 2.0 * int((p & t).sum()) / denom
