"""STOW-RS through the portal: the attacks first (role, SOP class, another patient's study or
PatientID, references, malformed bodies), then an edited SEG stored, counted and signed."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pydicom
import pytest
from accounts import services as account_services
from audit.models import AuditEvent
from authz.identity import orthanc_id
from clinical import seg_volumes, services
from clinical.models import AIJob, EditedSegmentation, Patient, Study
from django.test import Client
from django.utils import timezone
from pacs import stow
from pydicom.dataset import Dataset

from tests.support.portal import make_mr
from tests.support.portal_fakes import FakeOrthanc, bearer
from tests.support.segmentations import binary_seg

pytestmark = pytest.mark.django_db

PATIENT, OTHER = "NN-DEMO-0001", "NN-OTHER-0002"
STUDY, OTHER_STUDY = "1.2.826.0.9.1", "1.2.826.0.9.2"
MR_SERIES, AI_SEG_SERIES = f"{STUDY}.1", f"{STUDY}.9001"
URL = "/api/pacs/dicom-web/studies"
SEG_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def _slices(patient: str = PATIENT, study: str = STUDY, series: str = MR_SERIES) -> list[Dataset]:
    out: list[Dataset] = []
    for number in range(3):
        data, _ = make_mr(
            patient_id=patient,
            study_uid=study,
            series_uid=series,
            sop_uid=f"{series}.{number + 1}",
            size=32,
        )
        ds = pydicom.dcmread(io.BytesIO(data))
        ds.ImagePositionPatient = [0, 0, 2 * number]  # 2 mm apart, 1 mm thick
        ds.InstanceNumber = number + 1
        out.append(ds)
    return out


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def edited_seg(**change: str) -> bytes:
    ds = binary_seg(_slices())
    for keyword, value in change.items():
        setattr(ds, keyword, value)
    return _bytes(ds)


def multipart(
    *parts: bytes, boundary: str = "nn-boundary", kind: str = "application/dicom"
) -> bytes:
    body = b"".join(
        f"--{boundary}\r\nContent-Type: {kind}\r\n\r\n".encode() + part + b"\r\n" for part in parts
    )
    return body + f"--{boundary}--\r\n".encode()


CONTENT_TYPE = 'multipart/related; type="application/dicom"; boundary=nn-boundary'


@pytest.fixture
def archive(fake_orthanc: FakeOrthanc) -> FakeOrthanc:
    """The owner's study (MR + AI SEG) and another patient's study, mirrored; a conflict: a
    study of OTHER that reuses STUDY's UID (in Orthanc and in the mirror, hidden)."""
    account_services.seed_dev_users()
    for number in (1, 2, 3):
        fake_orthanc.add(
            patient_id=PATIENT,
            study_uid=STUDY,
            series_uid=MR_SERIES,
            sop_uid=f"{MR_SERIES}.{number}",
        )
    fake_orthanc.add(
        patient_id=PATIENT,
        study_uid=STUDY,
        series_uid=AI_SEG_SERIES,
        sop_uid=f"{AI_SEG_SERIES}.1",
        modality="SEG",
    )
    fake_orthanc.add(
        patient_id=OTHER,
        study_uid=OTHER_STUDY,
        series_uid=f"{OTHER_STUDY}.1",
        sop_uid=f"{OTHER_STUDY}.1.1",
    )
    fake_orthanc.add(
        patient_id=OTHER, study_uid=STUDY, series_uid=MR_SERIES, sop_uid=f"{MR_SERIES}.1"
    )
    for patient, uid in ((PATIENT, STUDY), (OTHER, OTHER_STUDY), (OTHER, STUDY)):
        services.sync_study(
            orthanc=fake_orthanc, orthanc_study_id=orthanc_id(patient, uid), notify=False
        )
    assert Study.objects.filter(study_uid=STUDY, claimed_uid__isnull=True).count() == 1
    fake_orthanc.stored.clear()
    return fake_orthanc


def _stow(client: Client, user: str, body: bytes, content_type: str = CONTENT_TYPE) -> Any:
    return client.post(
        URL,
        body,
        content_type=content_type,
        headers={"Authorization": bearer(client, user)["HTTP_AUTHORIZATION"]},
    )


def _failures(answer: Any) -> list[int]:
    body = json.loads(answer.content)
    return [item["00081197"]["Value"][0] for item in body.get("00081198", {}).get("Value", [])]


# --- attacks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["clinician", "admin"])
def test_only_radiologists_store_and_refusals_are_audited(archive: FakeOrthanc, user: str) -> None:
    client = Client()
    answer = _stow(client, user, multipart(edited_seg()))
    assert answer.status_code == 403
    assert archive.stored == []
    assert AuditEvent.objects.filter(action="stow", allowed=False, username=user).exists()
    assert client.post(URL, multipart(edited_seg()), content_type=CONTENT_TYPE).status_code == 401


def test_images_and_other_classes_are_refused(archive: FakeOrthanc) -> None:
    image, _ = make_mr(
        patient_id=PATIENT, study_uid=STUDY, series_uid=f"{STUDY}.50", sop_uid=f"{STUDY}.50.1"
    )
    answer = _stow(Client(), "radiologist", multipart(image))
    assert answer.status_code == 409
    assert _failures(answer) == [stow.Failure.SOP_CLASS_NOT_SUPPORTED]
    assert archive.stored == []


def test_another_patients_study_uid_or_patient_id_is_refused_per_instance(
    archive: FakeOrthanc,
) -> None:
    """No instance may file itself beside another patient's study: each would create a new
    Orthanc study (PatientID + UID) that collides with the owner's UID."""
    attacks = [
        edited_seg(PatientID=OTHER),  # the owner's UID, another PatientID (even the conflict's)
        edited_seg(PatientID="NN-NEW-9999"),  # a PatientID nobody has
        edited_seg(StudyInstanceUID=OTHER_STUDY),  # another patient's UID, our PatientID
        edited_seg(StudyInstanceUID="1.2.826.0.9.404"),  # a study the portal does not know
    ]
    answer = _stow(Client(), "radiologist", multipart(*attacks))
    assert answer.status_code == 409
    assert _failures(answer) == [stow.Failure.NOT_AUTHORISED] * 4
    assert archive.stored == []
    assert AuditEvent.objects.filter(action="stow", allowed=False).count() == 4


def test_a_seg_must_reference_this_study_and_be_a_new_series(archive: FakeOrthanc) -> None:
    outside = binary_seg(_slices())
    outside.ReferencedSeriesSequence[0].SeriesInstanceUID = f"{OTHER_STUDY}.1"
    unreferenced = binary_seg(_slices())
    del unreferenced.ReferencedSeriesSequence
    over_ai = edited_seg(SeriesInstanceUID=AI_SEG_SERIES)  # would file itself into the AI SEG
    answer = _stow(
        Client(), "radiologist", multipart(_bytes(outside), _bytes(unreferenced), over_ai)
    )
    assert answer.status_code == 409
    assert _failures(answer) == [stow.Failure.DOES_NOT_MATCH_SOP_CLASS] * 3
    assert archive.stored == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"--nn-boundary\r\nContent-Type: application/dicom\r\n\r\nx", CONTENT_TYPE, 400),  # no end
        (b"garbage without any framing", CONTENT_TYPE, 400),
        (b"--nn-boundary\r\nno blank line\r\n--nn-boundary--\r\n", CONTENT_TYPE, 400),
        (b"--nn-boundary--\r\n", CONTENT_TYPE, 400),  # no part at all
        (multipart(b"x"), 'multipart/related; type="application/dicom"', 400),  # no boundary
        (multipart(b"x", kind="application/dicom+json"), CONTENT_TYPE, 415),
        (multipart(b"x"), "application/dicom", 415),
        (
            multipart(b"x"),
            'multipart/related; type="application/dicom+xml"; boundary=nn-boundary',
            415,
        ),
    ],
)
def test_malformed_bodies_are_refused_whole(
    archive: FakeOrthanc, body: bytes, content_type: str, status: int
) -> None:
    answer = _stow(Client(), "radiologist", body, content_type)
    assert answer.status_code == status, answer.content
    assert archive.stored == []


def test_an_unreadable_part_fails_alone(archive: FakeOrthanc) -> None:
    answer = _stow(Client(), "radiologist", multipart(b"not dicom at all", edited_seg()))
    assert answer.status_code == 202, answer.content
    assert _failures(answer) == [stow.Failure.CANNOT_UNDERSTAND]
    assert len(archive.stored) == 1


# --- an edited SEG, stored and signed -----------------------------------------------------------


def test_volumes_are_counted_from_the_pixels() -> None:
    seg = pydicom.dcmread(io.BytesIO(edited_seg()))
    # binary_seg marks rows 8..15 x columns 10..15 on each of 3 slices: 48 pixels of 1x1 mm,
    # slices 2 mm apart (1 mm thick): 3 x 48 x 2 mm3
    assert seg_volumes.segment_volumes_ml(seg) == {"block": round(3 * 48 * 2 / 1000, 3)}
    with pytest.raises(seg_volumes.SegUnreadable):
        seg_volumes.segment_volumes_ml(pydicom.dcmread(io.BytesIO(_bytes(_slices()[0]))))


def test_an_edited_seg_is_stored_counted_and_signed(archive: FakeOrthanc) -> None:
    study = Study.objects.get(claimed_uid=STUDY)
    AIJob.objects.create(
        job_id="j",
        study=study,
        state="done",
        model_id="m",
        model_version="1",
        seg_series_uid=AI_SEG_SERIES,
        volumes_ml={"block": 5.0},
        event_at=timezone.now(),
    )
    client = Client()
    seg = edited_seg()
    answer = _stow(client, "radiologist", multipart(seg))
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/dicom+json"
    (stored,) = json.loads(answer.content)["00081199"]["Value"]
    assert stored["00081150"]["Value"] == [SEG_CLASS]
    assert stored["00081190"]["Value"][0].startswith(
        "http://testserver/api/pacs/dicom-web/studies/"
    )
    assert archive.stored == [seg]  # the radiologist's exact bytes, into the owner's study
    (row,) = EditedSegmentation.objects.all()
    assert (row.study, row.created_by, row.volumes_ml) == (study, "radiologist", {"block": 0.288})
    assert row.referenced_series_uids == [MR_SERIES]
    assert AuditEvent.objects.filter(action="stow", allowed=True).count() == 2  # start + instance
    signed = client.post(
        f"/api/studies/{STUDY}/review",
        json.dumps({"decision": "edited", "impression": "smaller than the AI said"}),
        content_type="application/json",
        headers={"Authorization": bearer(client, "radiologist")["HTTP_AUTHORIZATION"]},
    ).json()
    assert signed["review"]["edited_seg_series_uid"] == row.series_uid
    assert [(r["label"], r["volume_ml"]) for r in signed["labels"]] == [("block", 0.288)]
    # a retry of the same edit is stored again (Orthanc keeps one), not refused as "existing"
    assert _stow(client, "radiologist", multipart(seg)).status_code == 200
    assert EditedSegmentation.objects.count() == 1
    assert Patient.objects.filter(patient_id="NN-NEW-9999").count() == 0


def test_the_ai_seg_shape_counts_each_label() -> None:
    """A SEG shaped as the AI's (one segment per label, empty frames omitted) counts each label
    on its own; the labels are the manifest's names, as in the report."""
    from neuronova_inference.seg import build_seg  # noqa: PLC0415

    from tests.support.synthetic import shipped_manifest  # noqa: PLC0415

    labels = np.zeros((3, 32, 32), dtype=np.uint8)
    labels[0, :4, :5] = 1  # 20 pixels of label 1 on the first slice
    labels[1, 10:13, 10:13] = 3  # 9 of label 3 on the second
    labels[2, 0, 0] = 3
    manifest = shipped_manifest()
    seg = build_seg(_slices(), labels, manifest)
    names = {label.value: label.name for label in manifest.labels}
    assert seg_volumes.segment_volumes_ml(seg) == {
        names[1]: 0.04,  # 20 x 2 mm3
        names[2]: 0.0,
        names[3]: 0.02,
    }


def dicomweb_client_body(*parts: bytes, boundary: str = "nn-boundary") -> bytes:
    """What dicomweb-client's multipartEncode (OHIF's data source) sends: every part opens with
    CRLF + delimiter, the close delimiter has no CRLF after it, and with several datasets its
    buffer keeps zero bytes past the close delimiter (an epilogue)."""
    head = f"\r\n--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    body = b"".join(head + part for part in parts) + f"\r\n--{boundary}--".encode()
    return body + b"\x00" * (len(parts) - 1) * len(f"\r\n--{boundary}--")


def test_the_viewers_own_framing_is_accepted(archive: FakeOrthanc) -> None:
    """OHIF stores through dicomweb-client: a leading CRLF (an empty preamble) and an epilogue
    are multipart as RFC 2046 frames it, not a malformed body."""
    one = _stow(Client(), "radiologist", dicomweb_client_body(edited_seg()))
    assert one.status_code == 200, one.content
    two = _stow(Client(), "radiologist", dicomweb_client_body(edited_seg(), edited_seg()))
    assert two.status_code == 200, two.content
    assert len(archive.stored) == 3
    preamble = b"a preamble is ignored\r\n" + multipart(edited_seg())
    assert _stow(Client(), "radiologist", preamble).status_code == 200


def _other_study_of_the_patient(archive: FakeOrthanc) -> str:
    second = "1.2.826.0.9.3"
    archive.add(patient_id=PATIENT, study_uid=second, series_uid=f"{second}.1",
                sop_uid=f"{second}.1.1")  # fmt: skip
    services.sync_study(orthanc=archive, orthanc_study_id=orthanc_id(PATIENT, second),
                        notify=False)  # fmt: skip
    archive.stored.clear()
    return second


def test_a_sop_instance_uid_is_never_reused(archive: FakeOrthanc) -> None:
    """An instance may not take the SOPInstanceUID of another series' instance (the AI SEG's),
    nor move an edit recorded for one study to another, nor change a stored edit's figures."""
    client = Client()
    steal = edited_seg(SOPInstanceUID=f"{AI_SEG_SERIES}.1")  # the AI SEG's instance, new series
    answer = _stow(client, "radiologist", multipart(steal))
    assert _failures(answer) == [stow.Failure.DUPLICATE_SOP_INSTANCE]
    first = pydicom.dcmread(io.BytesIO(edited_seg()))
    assert _stow(client, "radiologist", multipart(_bytes(first))).status_code == 200
    (row,) = EditedSegmentation.objects.all()
    second = _other_study_of_the_patient(archive)
    moved = pydicom.dcmread(io.BytesIO(_bytes(first)))
    moved.StudyInstanceUID = second
    moved.ReferencedSeriesSequence[0].SeriesInstanceUID = f"{second}.1"
    answer = _stow(client, "radiologist", multipart(_bytes(moved)))
    assert _failures(answer) == [stow.Failure.DUPLICATE_SOP_INSTANCE]
    changed = pydicom.dcmread(io.BytesIO(_bytes(first)))
    changed.PixelData = b"\xff" * len(changed.PixelData)  # same instance, other pixels
    assert _stow(client, "radiologist", multipart(_bytes(changed))).status_code == 200
    again = EditedSegmentation.objects.get()
    assert (again.study, again.volumes_ml) == (row.study, row.volumes_ml)  # the first stands


def test_stow_outcomes_are_counted(archive: FakeOrthanc) -> None:
    from common.metrics import STOW_INSTANCES  # noqa: PLC0415

    def count(outcome: str) -> float:
        return float(STOW_INSTANCES.labels(outcome)._value.get())

    before = {o: count(o) for o in ("stored", "refused")}
    _stow(Client(), "radiologist", multipart(edited_seg(), edited_seg(PatientID=OTHER)))
    assert {o: count(o) - before[o] for o in before} == {"stored": 1.0, "refused": 1.0}
