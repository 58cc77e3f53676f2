import numpy as np
import pytest
from neuronova_contracts.manifest import GridSpec, Normalisation
from neuronova_inference.postprocess import (
    drop_coreless_components,
    drop_small_components,
    labels_on_source,
    volumes_ml,
)
from neuronova_inference.preprocess import Volume, model_affine, normalise, resample

from tests.support.synthetic import shipped_manifest


def test_model_grid_is_centred_and_oriented() -> None:
    grid = GridSpec((8, 10, 12), (2.0, 3.0, 4.0), "LPS", "zyx")
    centre = np.array([10.0, -5.0, 3.0])
    a = model_affine(grid, centre)
    mid = a[:3, :3] @ ((np.array(grid.shape) - 1) / 2) + a[:3, 3]
    np.testing.assert_allclose(mid, centre)
    np.testing.assert_allclose(a[:3, 0], [0, 0, 2.0])  # first array axis runs along +S
    ras = model_affine(GridSpec((8, 8, 8), (1, 1, 1), "RAS", "xyz"), centre)
    np.testing.assert_allclose(ras[:3, 0], [-1, 0, 0])  # +x in RAS is -x in LPS


def test_resample_onto_a_shifted_grid_moves_content_by_the_shift() -> None:
    src = np.zeros((10, 10, 10), np.float32)
    src[5, 5, 5] = 1.0
    affine = np.eye(4)
    shifted = affine.copy()
    shifted[:3, 3] = [1.0, 0, 0]  # target voxel 0 sits at source voxel 1 (LPS x is index 0 here)
    out = resample(src, affine, (10, 10, 10), shifted, order=0)
    assert out[4, 5, 5] == 1.0
    assert out.sum() == 1.0


def test_zscore_foreground_ignores_background() -> None:
    x = np.zeros((10, 10, 10), np.float32)
    x[2:8, 2:8, 2:8] = np.linspace(100, 200, 216).reshape(6, 6, 6)
    out = normalise(x, Normalisation("zscore_foreground", 0.1, (-5, 5)))
    fg = out[2:8, 2:8, 2:8]
    assert abs(float(fg.mean())) < 1e-4
    assert float(fg.std()) == pytest.approx(1.0, rel=1e-3)


def test_probabilities_back_on_the_source_grid_and_volumes() -> None:
    reference = Volume(np.zeros((6, 6, 6), np.float32), np.diag([2.0, 2.0, 2.0, 1.0]))
    probs = np.zeros((4, 6, 6, 6), np.float32)
    probs[0] = 1.0
    probs[:2, 1:3, 1:3, 1:3] = [[[[0.0]]], [[[1.0]]]]
    labels = labels_on_source(probs, reference.affine, reference, shipped_manifest())
    assert int((labels == 1).sum()) == 8
    assert volumes_ml(labels, reference.voxel_ml, 1) == {1: pytest.approx(0.064)}


def test_small_components_are_dropped() -> None:
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[0, 0, 0] = 3
    labels[4:8, 4:8, 4:8] = 2
    out = drop_small_components(labels, voxel_ml=0.001, min_ml=0.01)
    assert out[0, 0, 0] == 0
    assert int((out == 2).sum()) == 64


def test_components_without_a_core_are_dropped() -> None:
    labels = np.zeros((12, 12, 12), np.uint8)
    labels[0:4, 0:4, 0:4] = 2  # "oedema" alone: dropped
    labels[6:12, 6:12, 6:12] = 2  # oedema around an enhancing core: kept whole
    labels[8:10, 8:10, 8:10] = 3
    labels[0:1, 8:10, 0:2] = 1  # a necrotic core of 4 voxels alone: under 0.005 mL, dropped
    out = drop_coreless_components(labels, voxel_ml=0.001, core_labels=(1, 3), min_core_ml=0.005)
    assert int((out[0:4, 0:4, 0:4] > 0).sum()) == 0
    np.testing.assert_array_equal(out[6:12, 6:12, 6:12], labels[6:12, 6:12, 6:12])
    assert int((out[0:1, 8:10, 0:2] > 0).sum()) == 0
    # No rule in the manifest: nothing changes.
    assert drop_coreless_components(labels, 0.001, (), 0.005) is labels
