"""Studies that do not share one axial grid: the SEG must land where the tumour is in patient space.

A perfect 'network' (the oracle: ground truth on the model grid) isolates the geometry: series
assembled from Image Position/Orientation, resampled into the model grid, probabilities back on
the reference series, a SEG on that series' own planes. Grids are coarse so the phantoms render
in a second or two.
"""

from __future__ import annotations

from io import BytesIO

import highdicom as hd
import numpy as np
import pytest
from neuronova_inference.decode import pixels
from neuronova_inference.pipeline import Timings, load_inputs, run_study
from neuronova_inference.preprocess import to_model_space
from neuronova_lab.synthetic.anatomy import WM
from neuronova_lab.synthetic.geometry import Grid, plane_grid, rotation
from neuronova_lab.synthetic.study import SyntheticStudy
from numpy.typing import NDArray

from tests.support.synthetic import oracle_predictor, shipped_manifest

SEED = 31


def _grid(plane: str, slices: int, spacing: float, pixel: float, n: int, **kw: object) -> Grid:
    return plane_grid(
        plane,
        rows=n,
        columns=n,
        slices=slices,
        pixel_mm=pixel,
        slice_spacing_mm=spacing,
        centre=np.asarray(kw.get("centre", np.zeros(3))),
        tilt=kw.get("tilt"),  # type: ignore[arg-type]
    )


def _sagittal() -> dict[str, Grid]:
    return dict.fromkeys(("T1", "T1c", "T2", "FLAIR"), _grid("sagittal", 22, 7.0, 4.2, 56))


def _mixed() -> dict[str, Grid]:
    tilt = rotation(np.array([1.0, 0.3, 0.0]), 12.0)
    return {
        "T1": _grid("axial", 20, 8.0, 4.0, 56, centre=np.array([2.0, -3.0, 4.0])),
        "T1c": _grid("axial", 28, 5.5, 3.5, 64, tilt=tilt),
        "T2": _grid("coronal", 26, 7.5, 4.4, 52, centre=np.array([-3.0, 2.0, 0.0])),
        "FLAIR": _grid("sagittal", 22, 7.0, 4.6, 50),
    }


def _seg_centroid(raw: bytes, label: int) -> NDArray[np.float64]:
    """Patient-space centroid of one segment, read back from the stored SEG alone."""
    seg = hd.seg.segread(BytesIO(raw))
    points = []
    for i, frame in enumerate(seg.PerFrameFunctionalGroupsSequence):
        if frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber != label:
            continue
        mask = seg.pixel_array[i] > 0
        r, c = np.nonzero(mask)
        ipp = np.array(frame.PlanePositionSequence[0].ImagePositionPatient, dtype=np.float64)
        orientation = np.array(
            seg.SharedFunctionalGroupsSequence[0]
            .PlaneOrientationSequence[0]
            .ImageOrientationPatient,
            dtype=np.float64,
        )
        spacing = seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
        row_dir, col_dir = orientation[:3], orientation[3:]
        pts = (
            ipp
            + np.outer(c * float(spacing[1]), row_dir)
            + np.outer(r * float(spacing[0]), col_dir)
        )
        points.append(pts)
    centroid: NDArray[np.float64] = np.concatenate(points).mean(axis=0)
    return centroid


@pytest.mark.parametrize("layout", [_sagittal, _mixed], ids=["sagittal", "mixed-spacing"])
def test_seg_of_a_study_without_a_shared_axial_grid_overlays_the_tumour(layout: object) -> None:
    grids = layout()  # type: ignore[operator]
    study = SyntheticStudy.generate(SEED, grids)
    manifest = shipped_manifest()
    result = run_study(
        "x", manifest, study, predict=oracle_predictor(study, manifest), decode=pixels
    )
    assert study.phantom is not None
    reference = study.series[result.source_series["T1"]]
    # The SEG lies on the reference (T1) series' own planes and orientation.
    seg = hd.seg.segread(BytesIO(result.seg_bytes))
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == result.source_series["T1"]
    orientation = seg.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0]
    assert [float(v) for v in orientation.ImageOrientationPatient] == pytest.approx(
        [float(v) for v in reference[0].ImageOrientationPatient]
    )
    positions = {tuple(round(float(v), 3) for v in ds.ImagePositionPatient) for ds in reference}
    for frame in seg.PerFrameFunctionalGroupsSequence:
        ipp = tuple(round(float(v), 3) for v in frame.PlanePositionSequence[0].ImagePositionPatient)
        assert ipp in positions
    # Where the SEG says the tumour is, in patient space, is where the phantom put it.
    truth = study.phantom.object_labels
    obj = study.phantom.object_grid
    for value in (2, 3):
        idx = np.argwhere(truth == value).mean(axis=0)
        expected = obj.affine[:3, :3] @ idx + obj.affine[:3, 3]
        np.testing.assert_allclose(_seg_centroid(result.seg_bytes, value), expected, atol=4.0)
    # Volumes: what the report says against the phantom's own 1 mm anatomy.
    for lab in manifest.labels:
        true_ml = float((truth == lab.value).sum()) * obj.voxel_ml
        assert result.volumes_ml[lab.name] == pytest.approx(true_ml, rel=0.2, abs=0.5), lab.name
    whole = sum(result.volumes_ml.values())
    assert whole == pytest.approx(float((truth > 0).sum()) * obj.voxel_ml, rel=0.1)


@pytest.mark.parametrize("layout", [_sagittal, _mixed], ids=["sagittal", "mixed-spacing"])
def test_every_channel_is_aligned_with_the_anatomy_in_model_space(layout: object) -> None:
    """Each series is resampled from its own geometry: the tumour shows in every channel at the
    place the anatomy has it (a series placed wrongly would show normal brain there)."""
    study = SyntheticStudy.generate(SEED, layout())  # type: ignore[operator]
    manifest = shipped_manifest()
    assert study.phantom is not None
    volumes, _, _ = load_inputs("x", manifest, study, pixels, Timings())
    x, affine = to_model_space(volumes, manifest.grid, manifest.normalisation, 0)
    truth = study.phantom.truth(Grid(manifest.grid.shape, affine))
    inputs = [spec.name for spec in manifest.inputs]
    channel = {name: x[0, i] for i, name in enumerate(inputs)}
    brain = study.phantom.tissues(Grid(manifest.grid.shape, affine)) == WM
    # Enhancing rim: bright after contrast, not before; oedema: bright on T2 and FLAIR.
    contrast = {
        ("T1c", 3): 0.5,
        ("T1", 3): -0.3,
        ("FLAIR", 2): 1.0,
        ("T2", 2): 1.0,
    }
    for (name, value), expected in contrast.items():
        diff = channel[name][truth == value].mean() - channel[name][brain].mean()
        assert diff > expected if expected > 0 else diff < expected, (name, value, diff)
