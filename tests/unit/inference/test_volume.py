import copy

import numpy as np
import pytest
from neuronova_inference.decode import pixels
from neuronova_inference.volume import VolumeError, build_volume, sort_slices
from pydicom.dataset import Dataset

from tests.support.synthetic import tiny_study


def _series(name: str = "AX T1 SE") -> list[Dataset]:
    study = tiny_study()
    for datasets in study.series.values():
        if datasets[0].SeriesDescription == name:
            return [copy.deepcopy(ds) for ds in datasets]
    raise AssertionError(name)


def test_slices_sorted_along_the_normal_not_by_arrival() -> None:
    datasets = _series()
    shuffled = [datasets[i] for i in np.random.default_rng(0).permutation(len(datasets))]
    ordered, affine, spacing = sort_slices(shuffled)
    z = [float(ds.ImagePositionPatient[2]) for ds in ordered]
    assert z == sorted(z)
    assert spacing == pytest.approx(9.0)
    np.testing.assert_allclose(affine[:3, 0], [0, 0, 9.0])


def test_volume_matches_the_written_pixels() -> None:
    study = tiny_study()
    datasets = _series()
    volume, ordered = build_volume(list(reversed(datasets)), pixels)
    assert volume.array.shape == (16, 48, 48)
    np.testing.assert_array_equal(volume.array[0], ordered[0].pixel_array)
    assert volume.voxel_ml == pytest.approx(9.0 * 4.5 * 4.5 / 1000)
    assert study.labels.shape == volume.array.shape


def test_slice_gap_is_refused_with_its_position() -> None:
    datasets = _series()
    del datasets[6]
    with pytest.raises(VolumeError, match=r"slice gap: 18.00 mm between slices 6 and 7"):
        sort_slices(datasets)


def test_mixed_geometry_and_duplicates_are_refused() -> None:
    datasets = _series()
    datasets[3].PixelSpacing = [1.0, 1.0]
    with pytest.raises(VolumeError, match="mixed geometry"):
        sort_slices(datasets)
    datasets = _series()
    datasets[4].ImagePositionPatient = datasets[5].ImagePositionPatient
    with pytest.raises(VolumeError, match="same position"):
        sort_slices(datasets)


def test_corrupt_pixel_data_is_a_reason_not_a_crash() -> None:
    datasets = _series()
    datasets[2].PixelData = datasets[2].PixelData[:100]
    with pytest.raises(VolumeError, match="cannot be decoded"):
        build_volume(datasets, pixels)
