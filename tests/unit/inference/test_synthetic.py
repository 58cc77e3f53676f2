import numpy as np
from neuronova_contracts.matching import match_study
from neuronova_lab.synthetic.dicom import series_datasets, to_bytes
from neuronova_lab.synthetic.phantom import SEQUENCES, render

from tests.support.synthetic import shipped_manifest, tiny_grid, tiny_study


def test_same_seed_same_study_and_different_seed_differs() -> None:
    a, b, c = render(3, tiny_grid()), render(3, tiny_grid()), render(4, tiny_grid())
    for name in SEQUENCES:
        np.testing.assert_array_equal(a.images[name], b.images[name])
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)


def test_phantom_has_every_tumour_label_and_contrast_behaves_like_mr() -> None:
    p = render(11, tiny_grid())
    assert set(np.unique(p.labels)) == {0, 1, 2, 3}
    et, ed = p.labels == 3, p.labels == 2
    # Enhancement: the rim is brighter after contrast; oedema is bright on FLAIR. Each series has
    # its own scale, so compare each with its own brain outside the tumour.
    brain = (p.labels == 0) & (p.images["T1"] > np.percentile(p.images["T1"], 80))
    t1 = p.images["T1"][et].mean() / p.images["T1"][brain].mean()
    t1c = p.images["T1c"][et].mean() / p.images["T1c"][brain].mean()
    assert t1c > 1.5 * t1
    assert p.images["FLAIR"][ed].mean() > p.images["FLAIR"][p.labels == 0].mean()


def test_dicom_series_carry_scanner_attributes_and_deterministic_uids() -> None:
    study = tiny_study()
    assert len(study.series) == 4
    datasets = study.all_datasets()
    assert {ds.Modality for ds in datasets} == {"MR"}
    assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == len(datasets)
    t1c = [ds for ds in datasets if "ContrastBolusAgent" in ds]
    assert t1c
    assert all(ds.SeriesDescription == "AX T1 SE +C" for ds in t1c)
    flair = next(ds for ds in datasets if "FLAIR" in ds.SeriesDescription)
    assert "IR" in flair.ScanningSequence
    assert float(flair.InversionTime) > 0
    again = series_datasets(render(7, tiny_grid()))
    assert to_bytes(again[0]) == to_bytes(study.series[str(again[0].SeriesInstanceUID)][0])


def test_generated_study_matches_the_shipped_manifest_by_rules() -> None:
    study = tiny_study()
    match = match_study(shipped_manifest(), study.series_tags("x"))
    assert match.eligible, match.reason
    described = {name: study.series[key][0].SeriesDescription for name, key in match.series.items()}
    assert described == {
        "T1": "AX T1 SE",
        "T1c": "AX T1 SE +C",
        "T2": "AX T2 TSE",
        "FLAIR": "AX T2 FLAIR",
    }
