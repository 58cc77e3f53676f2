import base64
import json
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
import pytest
from neuronova_contracts.manifest import parse_manifest
from neuronova_inference.decode import pixels
from neuronova_inference.pipeline import Analysis, run_study
from neuronova_lab.synthetic.study import SyntheticStudy
from neuronova_plugin.ai.changes import poll_changes, sweep_pending
from neuronova_plugin.ai.routes import store_seg
from neuronova_plugin.ai.store import JobStore
from neuronova_plugin.host import Request
from pydicom.dataset import Dataset

from tests.support.synthetic import (
    FakeHost,
    manifest_raw,
    oracle_predictor,
    shipped_manifest,
    tiny_study,
)

MODEL = parse_manifest(manifest_raw())


def _study_host(
    descriptions: tuple[str, ...] = ("AX T1 SE", "AX T1 SE +C", "AX T2 TSE", "AX T2 FLAIR"),
    modality: str = "MR",
) -> FakeHost:
    host = FakeHost()
    host.get["/studies/S1"] = {"MainDicomTags": {"StudyInstanceUID": "1.2.3"}, "IsStable": True}
    series = []
    for n, desc in enumerate(descriptions):
        series.append(
            {
                "ID": f"se{n}",
                "MainDicomTags": {"Modality": modality, "SeriesDescription": desc},
                "Instances": [f"i{n}"],
            }
        )
        tags = {"ContrastBolusAgent": "GD"} if "+C" in desc else {}
        host.get[f"/instances/i{n}/simplified-tags"] = tags
    host.get["/studies/S1/series"] = series
    return host


def _changes(host: FakeHost, *changes: dict[str, Any], last: int) -> None:
    host.get[f"/changes?since={0}&limit=100"] = {
        "Changes": list(changes),
        "Done": True,
        "Last": last,
    }


def _change(seq: int, kind: str, study: str = "S1") -> dict[str, Any]:
    return {"Seq": seq, "ChangeType": kind, "ResourceType": "Study", "ID": study}


def _sent(store: JobStore) -> list[tuple[str, Any]]:
    return [(o.message.task, o.message.kwargs.get("state")) for o in store.unsent()]


def test_stable_eligible_study_gives_one_job_even_if_stable_twice(tmp_path: Path) -> None:
    host, store = _study_host(), JobStore(tmp_path / "j.sqlite")
    _changes(host, _change(1, "NewStudy"), _change(2, "StableStudy"), last=2)
    assert poll_changes(host, store, MODEL)
    assert store.cursor() == 2
    assert _sent(store) == [
        ("neuronova.portal.study_arrived", None),
        ("neuronova.portal.study_stable", None),
        ("neuronova.inference.segment_study", None),
        ("neuronova.portal.job_event", "queued"),
    ]
    assert store.unsent()[0].message.kwargs == {"orthanc_study_id": "S1"}
    task = store.unsent()[2].message
    assert task.queue == "inference"
    assert task.kwargs == {
        "job_id": f"S1:nn-brain-tumour-synth:{MODEL.version}",
        "study_uid": "1.2.3",
        "orthanc_study_id": "S1",
        "model_id": "nn-brain-tumour-synth",
        "model_version": MODEL.version,
    }
    # The SEG lands in the study and it becomes stable again: no second job.
    host.get["/changes?since=2&limit=100"] = {
        "Changes": [_change(3, "StableStudy")],
        "Done": True,
        "Last": 3,
    }
    poll_changes(host, store, MODEL)
    assert [t for t, _ in _sent(store)].count("neuronova.inference.segment_study") == 1


def test_ineligible_study_is_skipped_with_reason(tmp_path: Path) -> None:
    host, store = _study_host(("AX T1 SE", "AX T2 TSE")), JobStore(tmp_path / "j.sqlite")
    _changes(host, _change(5, "StableStudy"), last=5)
    poll_changes(host, store, MODEL)
    event = store.unsent()[-1].message
    assert event.kwargs["state"] == "skipped"
    assert event.kwargs["reason"] == "missing required sequence(s): T1c, FLAIR"


def test_ct_study_is_skipped(tmp_path: Path) -> None:
    host, store = _study_host(("HEAD",), modality="CT"), JobStore(tmp_path / "j.sqlite")
    _changes(host, _change(5, "StableStudy"), last=5)
    poll_changes(host, store, MODEL)
    assert store.unsent()[-1].message.kwargs["reason"] == "not a MR study (modalities: CT)"


def test_study_whose_stable_event_was_lost_is_swept(tmp_path: Path) -> None:
    host, store = _study_host(), JobStore(tmp_path / "j.sqlite")
    _changes(host, _change(1, "NewStudy"), last=1)
    poll_changes(host, store, MODEL)
    assert store.counts()["pending"] == 1
    assert _sent(store) == [("neuronova.portal.study_arrived", None)]
    host.get["/studies/S1"]["IsStable"] = False
    assert sweep_pending(host, store, MODEL, quiet_s=0, clock=lambda: 1e12) == 0
    host.get["/studies/S1"]["IsStable"] = True
    assert sweep_pending(host, store, MODEL, quiet_s=0, clock=lambda: 1e12) == 1
    assert "neuronova.inference.segment_study" in [t for t, _ in _sent(store)]
    assert store.counts()["pending"] == 0


def _seg_host(study: SyntheticStudy, analysis: Analysis) -> FakeHost:
    """A host that knows the study's series and instances as Orthanc would, plus another
    patient's study that reuses the StudyInstanceUID and the series UID (filed first)."""
    host = FakeHost()
    seg = analysis.seg
    ref = seg.ReferencedSeriesSequence[0]
    host.lookup[str(seg.StudyInstanceUID)] = [
        {"Type": "Study", "ID": "IMPOSTOR"},
        {"Type": "Study", "ID": "S1"},
    ]
    host.get["/studies/IMPOSTOR"] = {"PatientMainDicomTags": {"PatientID": "SOMEONE-ELSE"}}
    host.get["/studies/S1"] = {"PatientMainDicomTags": {"PatientID": str(seg.PatientID)}}
    datasets = study.series[str(ref.SeriesInstanceUID)]
    instances = [f"i{k}" for k in range(len(datasets))]
    host.get["/studies/S1/series"] = [
        {
            "ID": "SE1",
            "MainDicomTags": {"SeriesInstanceUID": str(ref.SeriesInstanceUID)},
            "Instances": instances,
        }
    ]
    host.get["/studies/S1/instances"] = [
        {"ID": i, "MainDicomTags": {"SOPInstanceUID": str(ds.SOPInstanceUID)}}
        for i, ds in zip(instances, datasets, strict=True)
    ]
    for k, ds in enumerate(datasets):
        host.get[f"/instances/i{k}"] = {"MainDicomTags": {"SOPInstanceUID": str(ds.SOPInstanceUID)}}
    host.get["/instances/i0/simplified-tags"] = {
        "FrameOfReferenceUID": str(datasets[0].FrameOfReferenceUID)
    }
    # The impostor holds a SEG with the very same SOP Instance UID: it must never be replaced.
    host.lookup[str(seg.SOPInstanceUID)] = [{"Type": "Instance", "ID": "impostor-seg"}]
    return host


@pytest.fixture(scope="module")
def analysis() -> tuple[SyntheticStudy, Analysis]:
    study, manifest = tiny_study(), shipped_manifest()
    return study, run_study(
        "x", manifest, study, predict=oracle_predictor(study, manifest), decode=pixels
    )


def _request(seg_bytes: bytes, **extra: str) -> Request:
    body = {"seg": base64.b64encode(seg_bytes).decode(), "job_id": "j", **extra}
    return Request("POST", body=json.dumps(body).encode())


def test_valid_seg_is_stored_and_a_rerun_replaces_it(
    tmp_path: Path, analysis: tuple[SyntheticStudy, Analysis]
) -> None:
    study, result = analysis
    host = _seg_host(study, result)
    response = store_seg(host, _request(result.seg_bytes, orthanc_study_id="S1"))
    assert response.status == 200, response.body
    assert json.loads(response.body)["replaced"] is False
    assert [uri for uri, _ in host.posted].count("/instances") == 1
    assert host.deleted == []  # the impostor's SEG with the same UIDs is left alone
    host.get["/studies/S1/instances"].append(
        {"ID": "old", "MainDicomTags": {"SOPInstanceUID": str(result.seg.SOPInstanceUID)}}
    )
    response = store_seg(host, _request(result.seg_bytes))
    assert json.loads(response.body)["replaced"] is True
    assert host.deleted == ["/instances/old"]


def test_seg_for_the_job_of_another_study_is_refused(
    tmp_path: Path, analysis: tuple[SyntheticStudy, Analysis]
) -> None:
    study, result = analysis
    host = _seg_host(study, result)
    response = store_seg(host, _request(result.seg_bytes, orthanc_study_id="IMPOSTOR"))
    assert response.status == 400
    assert "another study" in response.body.decode()
    assert "/instances" not in [uri for uri, _ in host.posted]


def test_jobs_of_two_studies_sharing_a_uid_never_share_an_id(tmp_path: Path) -> None:
    host, store = _study_host(), JobStore(tmp_path / "j.sqlite")
    host.get["/studies/S2"] = host.get["/studies/S1"]  # same StudyInstanceUID, other patient
    host.get["/studies/S2/series"] = [host.get["/studies/S1/series"][0]]  # not eligible
    _changes(host, _change(1, "StableStudy"), _change(2, "StableStudy", "S2"), last=2)
    poll_changes(host, store, MODEL)
    events = [o.message.kwargs for o in store.unsent() if o.message.task.endswith("job_event")]
    assert [(e["job_id"], e["state"]) for e in events] == [
        (f"S1:nn-brain-tumour-synth:{MODEL.version}", "queued"),
        (f"S2:nn-brain-tumour-synth:{MODEL.version}", "skipped"),
    ]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda ds: setattr(ds, "SOPClassUID", "1.2.840.10008.5.1.4.1.1.4"), "not a Segmentation"),
        (lambda ds: setattr(ds, "FrameOfReferenceUID", "1.2.999"), "frame of reference"),
        (lambda ds: setattr(ds, "StudyInstanceUID", "1.2.998"), "not in this archive"),
        (lambda ds: setattr(ds, "PatientID", "SOMEONE-ELSE-2"), "not in this archive"),
        (lambda ds: delattr(ds, "ReferencedSeriesSequence"), "no ReferencedSeriesSequence"),
    ],
)
def test_invalid_seg_is_refused_and_nothing_stored(
    tmp_path: Path,
    analysis: tuple[SyntheticStudy, Analysis],
    mutate: Callable[[Dataset], None],
    reason: str,
) -> None:
    study, result = analysis
    host = _seg_host(study, result)
    ds = pydicom.dcmread(BytesIO(result.seg_bytes))
    mutate(ds)
    buf = BytesIO()
    ds.save_as(buf)
    response = store_seg(host, _request(buf.getvalue()))
    assert response.status == 400
    assert reason in response.body.decode()
    assert "/instances" not in [uri for uri, _ in host.posted]


def test_garbage_body_is_a_400(tmp_path: Path) -> None:
    response = store_seg(FakeHost(), Request("POST", body=b"{not json"))
    assert response.status == 400
