"""Training crops are class-balanced: a small label is seen about as often as a large one."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from neuronova_lab.training.data import Example
from neuronova_lab.training.train import _crop


def _example() -> Example:
    labels = np.zeros((48, 48, 48), dtype=np.uint8)
    labels[8:40, 8:40, 8:40] = 2  # a large oedema (32^3 voxels)
    labels[22:25, 22:25, 22:25] = 1  # a tiny core (27 voxels) inside it
    labels[4:7, 42:45, 42:45] = 3  # and a tiny enhancing focus far from both
    image = np.zeros((4, 48, 48, 48), dtype=np.float32)
    return Example(image=image, labels=labels)


def test_each_present_label_is_the_centre_of_a_fair_share_of_crops() -> None:
    rng = np.random.default_rng(0)
    example = _example()
    crops = [_crop(rng, example, 24) for _ in range(600)]
    with_core = sum(1 for _, y in crops if (y == 1).any())
    with_focus = sum(1 for _, y in crops if (y == 3).any())
    # 65 % of crops centre on a label drawn uniformly among the three: about 20 % reach the far
    # focus. Centring on a random tumour voxel (mostly oedema) instead reaches it in about 3 %.
    assert with_core > 0.12 * len(crops)
    assert with_focus > 0.12 * len(crops)


def test_crops_are_patch_sized_and_flip_image_and_labels_together() -> None:
    rng = np.random.default_rng(1)
    example = _example()
    example.image[0] = example.labels  # the image carries the labels: a flip must keep them paired
    for _ in range(50):
        x, y = _crop(rng, example, 16)
        assert x.shape == (4, 16, 16, 16)
        assert y.shape == (16, 16, 16)
        assert x.dtype == np.float32
        if (y == 2).any() and (y == 0).any():
            # The appearance randomisation (contrast curve, bias, scale, shift, noise) is
            # monotone on average: the step of 2 stays a clear step, whichever way it was flipped.
            assert x[0][y == 2].mean() > x[0][y == 0].mean() + 0.3


def test_crops_off_the_tumour_stay_in_the_head() -> None:
    """The crops not centred on a label are centred on the head, never on the air around it."""
    rng = np.random.default_rng(2)
    image = np.full((4, 64, 64, 64), -2.0, dtype=np.float32)  # air, after the z-score
    image[:, 40:64, 40:64, 40:64] = 0.5  # the head fills one corner
    example = Example(image=image, labels=np.zeros((64, 64, 64), dtype=np.uint8))
    for _ in range(40):
        x, _ = _crop(rng, example, 16, tumour_share=0.0)
        assert (x[0] > -1.0).mean() > 0.1  # some head in every crop
