"""The phantom generator's follow-up visits: one patient, known tumour volumes per visit."""

import numpy as np
import pytest
from neuronova_lab.synthetic import demo
from neuronova_lab.synthetic.dicom import series_datasets
from neuronova_lab.synthetic.followup import follow_up, visit_date
from neuronova_lab.synthetic.phantom import render

from tests.support.synthetic import tiny_grid


def test_baseline_is_the_plain_study_and_later_visits_are_new_studies_of_that_patient() -> None:
    visits = follow_up(5, tiny_grid(), (1.0, 1.2, 0.8), interval_days=30)
    plain = series_datasets(render(5, tiny_grid()))
    baseline = visits[0].datasets()
    assert [ds.SOPInstanceUID for ds in baseline] == [ds.SOPInstanceUID for ds in plain]
    assert all(a.PixelData == b.PixelData for a, b in zip(baseline, plain, strict=True))
    studies = [visit.datasets() for visit in visits]
    assert len({s[0].PatientID for s in studies}) == 1
    assert len({s[0].StudyInstanceUID for s in studies}) == 3
    assert len({s[0].FrameOfReferenceUID for s in studies}) == 3
    assert len({ds.SOPInstanceUID for s in studies for ds in s}) == sum(map(len, studies))
    assert [s[0].StudyDate for s in studies] == ["20260101", "20260131", "20260302"]
    assert visit_date(2, 30) == "20260302"
    # Each visit is acquired again: its own noise, not the baseline's pixels scaled.
    assert studies[1][0].PixelData != studies[0][0].PixelData


def test_tumour_volume_follows_the_scale_and_the_truth_is_what_was_rendered() -> None:
    visits = follow_up(5, tiny_grid(), (1.0, 1.2, 1.0, 0.8))
    totals = [visit.total_ml for visit in visits]
    for visit, total in zip(visits, totals, strict=True):
        expected = visit.scale**3 * totals[0]
        assert total == pytest.approx(expected, rel=0.2)
        labels = visit.phantom.labels
        measured = np.count_nonzero(labels) * visit.phantom.grid.voxel_ml
        assert total == pytest.approx(measured)
    assert totals[1] > totals[0] * 1.4
    assert totals[3] < totals[0] * 0.7
    # "stays": the same size, another acquisition (outline texture and noise drawn again).
    assert totals[2] == pytest.approx(totals[0], rel=0.15)


@pytest.mark.parametrize("scales", [(), (1.2, 1.0), (1.0, 0.0), (1.0, -1.0)])
def test_scales_start_at_the_baseline_and_are_positive(scales: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="scale factors"):
        follow_up(5, tiny_grid(), scales)


def test_demo_writes_one_folder_per_visit(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert demo.main(["--small", "--seed", "5", "--visits", "1,0.9", "--write", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "visit 0 on 20260101: tumour scale 1" in out
    assert "visit 1 on 20260402: tumour scale 0.9" in out
    folders = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(folders) == 2
    assert all(len(list(folder.glob("*.dcm"))) == 80 for folder in folders)
    with pytest.raises(SystemExit):
        demo.main(["--visits", "0.5,1"])
