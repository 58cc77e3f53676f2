import copy
from io import BytesIO

import highdicom as hd
import imagecodecs
import numpy as np
import pydicom
import pytest
from neuronova_inference.decode import pixels
from neuronova_inference.pipeline import RefusedError, Timings, run_study
from neuronova_inference.seg import seg_uids
from neuronova_lab.synthetic.study import SyntheticStudy
from neuronova_lab.training.data import dice
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID

from tests.support.synthetic import oracle_predictor, shipped_manifest, tiny_study


def test_oracle_network_round_trips_through_model_space_and_back() -> None:
    """Perfect logits on the model grid must come back as the truth on the acquisition grid."""
    study, manifest = tiny_study(), shipped_manifest()
    timings = Timings()
    result = run_study(
        "x",
        manifest,
        study,
        predict=oracle_predictor(study, manifest),
        decode=pixels,
        timings=timings,
    )
    for label in manifest.labels:
        assert dice(result.labels, study.labels, label.value) > 0.8, label.name
    assert set(timings.stages) == {"fetch_decode", "preprocess", "inference", "postprocess_seg"}
    assert result.volumes_ml["Enhancing tumour"] > 0


def test_seg_is_a_readable_binary_seg_with_deterministic_uids_and_colours() -> None:
    study, manifest = tiny_study(), shipped_manifest()
    predict = oracle_predictor(study, manifest)
    first = run_study("x", manifest, study, predict=predict, decode=pixels)
    second = run_study("x", manifest, study, predict=predict, decode=pixels)
    assert first.seg.SOPInstanceUID == second.seg.SOPInstanceUID
    assert first.seg.SeriesInstanceUID == second.seg.SeriesInstanceUID
    t1_uid = first.source_series["T1"]
    t1 = study.series[t1_uid][0]
    assert (first.seg.SeriesInstanceUID, first.seg.SOPInstanceUID) == seg_uids(t1, manifest)
    # The same UIDs under another PatientID (a study reusing them) give another SEG identity.
    impostor = Dataset()
    impostor.PatientID = "SOMEONE-ELSE"
    impostor.StudyInstanceUID, impostor.SeriesInstanceUID = t1.StudyInstanceUID, t1_uid
    assert set(seg_uids(impostor, manifest)).isdisjoint(seg_uids(t1, manifest))
    seg = hd.seg.segread(BytesIO(first.seg_bytes))
    assert seg.SegmentationType == "BINARY"
    assert seg.FrameOfReferenceUID == study.series[t1_uid][0].FrameOfReferenceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == t1_uid
    assert [s.SegmentLabel for s in seg.SegmentSequence] == [lab.name for lab in manifest.labels]
    assert all("RecommendedDisplayCIELabValue" in s for s in seg.SegmentSequence)
    volume = seg.get_volume(combine_segments=True)
    assert int((volume.array > 0).sum()) == int((first.labels > 0).sum())


def test_missing_sequence_and_ct_are_skipped_not_failed() -> None:
    study, manifest = tiny_study(), shipped_manifest()
    without_flair = SyntheticStudy(
        {k: v for k, v in study.series.items() if "FLAIR" not in v[0].SeriesDescription},
        study.labels,
    )
    with pytest.raises(RefusedError, match=r"missing required sequence.*FLAIR") as info:
        run_study("x", manifest, without_flair, predict=np.asarray, decode=pixels)
    assert info.value.state == "skipped"
    ct = copy.deepcopy(study)
    for datasets in ct.series.values():
        for ds in datasets:
            ds.Modality = "CT"
    with pytest.raises(RefusedError, match="not a MR study") as info:
        run_study("x", manifest, ct, predict=np.asarray, decode=pixels)
    assert info.value.state == "skipped"


def test_gap_in_a_required_series_fails_with_the_series_named() -> None:
    study, manifest = tiny_study(), shipped_manifest()
    gapped = copy.deepcopy(study)
    t2 = next(k for k, v in gapped.series.items() if v[0].SeriesDescription == "AX T2 TSE")
    del gapped.series[t2][5]
    with pytest.raises(RefusedError, match="T2 series: slice gap") as info:
        run_study("x", manifest, gapped, predict=np.asarray, decode=pixels)
    assert info.value.state == "failed"


def test_htj2k_instances_decode_to_the_original_pixels() -> None:
    ds = copy.deepcopy(tiny_study().all_datasets()[3])
    original = ds.pixel_array.copy()
    ds.PixelData = encapsulate([bytes(imagecodecs.htj2k_encode(original))])
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.202")
    ds = pydicom.dcmread(BytesIO(_bytes(ds)))
    np.testing.assert_array_equal(pixels(ds), original)


def _bytes(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
