"""Review of an AI result: the state machine, the signing API, tumour volumes over time."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from accounts import services as account_services
from audit.models import AuditEvent
from clinical import review, trend
from clinical.models import AIJob, EditedSegmentation, Patient, Review, Study
from django.test import Client
from django.utils import timezone
from neuronova_lab.synthetic.followup import follow_up

from tests.support.portal_fakes import bearer
from tests.support.synthetic import tiny_grid

PATIENT = "NN-DEMO-0001"  # assigned to the dev clinician
OTHER = "NN-OTHER-0002"
AI = {"Necrotic tumour core": 1.5, "Peritumoural oedema": 10.0, "Enhancing tumour": 3.5}

# --- the state machine (pure) -------------------------------------------------------------------


def test_a_pending_result_is_signed_once_then_amended() -> None:
    first = review.sign(current=review.PENDING, version=0, decision="accepted", impression=" ok ")
    assert (first.state, first.version, first.impression) == ("accepted", 1, "ok")
    assert review.fhir_status(state=review.PENDING, version=0) == "preliminary"
    assert review.fhir_status(state=first.state, version=first.version) == "final"
    again = review.sign(
        current=first.state, version=1, decision="edited", impression="x", has_edited_seg=True
    )
    assert (again.state, again.version) == ("edited", 2)
    assert review.fhir_status(state=again.state, version=again.version) == "amended"


@pytest.mark.parametrize(
    ("decision", "impression", "reason", "edited", "why"),
    [
        ("accepted", "  ", "", False, "impression is required"),
        ("rejected", "wrong side", "", False, "needs a reason"),
        ("rejected", "wrong side", "   ", False, "needs a reason"),
        ("edited", "grown", "", False, "no edited SEG"),
        ("pending_review", "x", "", False, "decision must be"),
        ("signed", "x", "", False, "decision must be"),
    ],
)
def test_refused_transitions(
    decision: str, impression: str, reason: str, edited: bool, why: str
) -> None:
    with pytest.raises(review.ReviewRefused, match=why):
        review.sign(
            current=review.PENDING,
            version=0,
            decision=decision,
            impression=impression,
            reason=reason,
            has_edited_seg=edited,
        )


def test_a_reason_is_kept_for_rejections_only() -> None:
    rejected = review.sign(
        current="pending_review",
        version=0,
        decision="rejected",
        impression="artefact",
        reason="motion",
    )
    assert rejected.reason == "motion"
    accepted = review.sign(
        current="rejected", version=1, decision="accepted", impression="fine", reason="ignored"
    )
    assert (accepted.reason, accepted.version) == ("", 2)


# --- volume-change arithmetic (pure) ------------------------------------------------------------


def test_changes_against_previous_and_nadir_for_three_follow_up_visits() -> None:
    """The follow-up generator's three visits (scales 1.0, 1.15, 0.8): the changes are those of
    the rendered ground truth, against the previous and the smallest earlier total."""
    visits = follow_up(5, tiny_grid())
    names = dict(zip((1, 2, 3), AI, strict=True))
    points = [
        trend.Point(f"study-{n}", {names[v]: ml for v, ml in visit.truth_ml.items()})
        for n, visit in enumerate(visits)
    ]
    totals = [visit.total_ml for visit in visits]
    assert totals[1] > totals[0] > totals[2] > 0  # grows, then shrinks below the baseline
    out = trend.changes(points)
    assert out[0] == {
        "total_ml": round(totals[0], 3),
        "change_vs_previous": None,
        "change_vs_nadir": None,
    }
    grown = out[1]["change_vs_previous"]
    assert grown["ml"] == pytest.approx(totals[1] - totals[0], abs=1e-3)
    assert grown["percent"] == pytest.approx(100 * (totals[1] / totals[0] - 1), abs=1e-3)
    assert out[1]["change_vs_nadir"] == grown  # the nadir is still the baseline
    shrunk, nadir = out[2]["change_vs_previous"], out[2]["change_vs_nadir"]
    assert shrunk["ml"] == pytest.approx(totals[2] - totals[1], abs=1e-3)
    assert shrunk["base_study_uid"] == "study-1"
    assert nadir["ml"] == pytest.approx(totals[2] - totals[0], abs=1e-3)
    assert nadir["percent"] == pytest.approx(100 * (totals[2] / totals[0] - 1), abs=1e-3)
    assert nadir["base_study_uid"] == "study-0"


def test_changes_skip_studies_without_a_result_and_a_zero_base_has_no_percentage() -> None:
    out = trend.changes(
        [
            trend.Point("a", {"x": 0.0}),
            trend.Point("b", None),
            trend.Point("c", {"x": 2.0, "y": 1.0}),
            trend.Point("d", {"x": 1.0}),
            trend.Point("e", {"x": 4.0}),
        ]
    )
    assert out[1] == {"total_ml": None, "change_vs_previous": None, "change_vs_nadir": None}
    assert out[2]["change_vs_previous"] == {
        "ml": 3.0,
        "percent": None,
        "base_ml": 0.0,
        "base_study_uid": "a",
    }
    assert out[3]["change_vs_previous"]["percent"] == pytest.approx(-66.667, abs=1e-3)
    assert out[4]["change_vs_previous"]["base_study_uid"] == "d"
    assert out[4]["change_vs_nadir"]["base_study_uid"] == "a"  # 0 mL stays the nadir


# --- the API ------------------------------------------------------------------------------------


def _study(uid: str, *, patient: str = PATIENT, date: str = "20260101") -> Study:
    owner, _ = Patient.objects.get_or_create(patient_id=patient)
    return Study.objects.create(
        study_uid=uid,
        claimed_uid=uid,
        orthanc_study_id=f"o-{uid}",
        patient=owner,
        study_date=date,
    )


def _result(study: Study, volumes: dict[str, float] | None = None, minutes: int = 0) -> AIJob:
    return AIJob.objects.create(
        job_id=f"{study.orthanc_study_id}:m:1:{minutes}",
        study=study,
        state="done",
        model_id="nn-brain-tumour-synth",
        model_version="9.9.9",
        seg_series_uid=f"{study.study_uid}.9001",
        volumes_ml=volumes if volumes is not None else AI,
        event_at=timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes),
    )


def _edited_seg(study: Study, volumes: dict[str, float], *, after: AIJob) -> EditedSegmentation:
    return EditedSegmentation.objects.create(
        study=study,
        series_uid=f"{study.study_uid}.77",
        sop_instance_uid=f"{study.study_uid}.77.1",
        volumes_ml=volumes,
        content_creator="radiologist",
        created_by="radiologist",
        stored_at=after.event_at + timedelta(minutes=5),
    )


def _post(client: Client, user: str, uid: str, body: dict[str, Any]) -> Any:
    return client.post(
        f"/api/studies/{uid}/review",
        json.dumps(body),
        content_type="application/json",
        headers=_auth(client, user),
    )


def _get(client: Client, user: str, url: str) -> Any:
    return client.get(url, headers=_auth(client, user))


def _auth(client: Client, user: str) -> dict[str, str]:
    return {"Authorization": bearer(client, user)["HTTP_AUTHORIZATION"]}


@pytest.fixture
def users(db: Any) -> None:
    account_services.seed_dev_users()


@pytest.mark.django_db
def test_clinicians_and_admins_cannot_sign_and_are_audited(users: None) -> None:
    client = Client()
    _result(_study("1.2.3.1"))
    for user in ("clinician", "admin"):
        answer = _post(client, user, "1.2.3.1", {"decision": "accepted", "impression": "ok"})
        assert answer.status_code == 403, user
    refusals = AuditEvent.objects.filter(action="review-sign", allowed=False)
    assert sorted(refusals.values_list("username", flat=True)) == ["admin", "clinician"]
    assert not Review.objects.exists()


@pytest.mark.django_db
def test_a_radiologist_signs_and_the_report_says_who_and_when(users: None) -> None:
    client = Client()
    _result(_study("1.2.3.1"))
    before = _get(client, "clinician", "/api/studies/1.2.3.1/report").json()
    assert before["review"]["state"] == "pending_review"
    assert before["review"]["signed"] is False
    rows = _get(client, "clinician", "/api/studies").json()["results"]
    assert [(r["review_state"], r["signed"]) for r in rows] == [("pending_review", False)]
    answer = _post(client, "radiologist", "1.2.3.1", {"decision": "accepted", "impression": "ok"})
    assert answer.status_code == 200, answer.content
    report = _get(client, "clinician", "/api/studies/1.2.3.1/report").json()
    assert report["review"] | {"reviewed_at": None} == {
        "state": "accepted",
        "signed": True,
        "reviewer": "radiologist",
        "reviewed_at": None,
        "impression": "ok",
        "reason": None,
        "edited_seg_series_uid": None,
        "version": 1,
    }
    assert report["review"]["reviewed_at"]
    assert report["volumes_source"] == "ai"
    rows = _get(client, "clinician", "/api/studies").json()["results"]
    assert [(r["review_state"], r["signed"]) for r in rows] == [("accepted", True)]
    assert AuditEvent.objects.filter(action="review-sign", allowed=True).count() == 1


@pytest.mark.django_db
def test_refusals_reach_the_client_and_write_nothing(users: None) -> None:
    client = Client()
    _study("1.2.3.9")  # no AI result
    assert (
        _post(
            client, "radiologist", "1.2.3.9", {"decision": "accepted", "impression": "ok"}
        ).status_code
        == 409
    )
    _result(_study("1.2.3.1"))
    for body in (
        {"decision": "rejected", "impression": "no"},
        {"decision": "edited", "impression": "grown"},
        {"decision": "accepted", "impression": ""},
        {"decision": "maybe", "impression": "x"},
        {"impression": "x"},
    ):
        assert _post(client, "radiologist", "1.2.3.1", body).status_code == 400, body
    assert (
        _post(
            client, "radiologist", "9.9.9", {"decision": "accepted", "impression": "x"}
        ).status_code
        == 404
    )
    assert not Review.objects.exists()


@pytest.mark.django_db
def test_edited_volumes_come_from_the_edited_seg_and_a_later_signature_amends(
    users: None,
) -> None:
    client = Client()
    study = _study("1.2.3.1")
    job = _result(study)
    edited = {"Necrotic tumour core": 2.0, "Peritumoural oedema": 12.0, "Enhancing tumour": 4.0}
    # an edit stored before the AI result does not count as an edit of it
    stale = _edited_seg(study, {"Enhancing tumour": 99.0}, after=job)
    stale.stored_at = job.event_at - timedelta(minutes=1)
    stale.sop_instance_uid, stale.series_uid = "1.2.3.1.66.1", "1.2.3.1.66"
    stale.save()
    assert (
        _post(
            client, "radiologist", "1.2.3.1", {"decision": "edited", "impression": "grown"}
        ).status_code
        == 400
    )
    _edited_seg(study, edited, after=job)
    draft = _get(client, "clinician", "/api/studies/1.2.3.1/report").json()
    assert draft["volumes_source"] == "edited_seg"  # unsigned, but the figures being signed
    assert draft["review"]["signed"] is False
    answer = _post(client, "radiologist", "1.2.3.1", {"decision": "edited", "impression": "grown"})
    assert answer.status_code == 200
    report = answer.json()
    assert report["review"]["edited_seg_series_uid"] == "1.2.3.1.77"
    assert {row["label"]: row["volume_ml"] for row in report["labels"]} == edited
    assert report["review"]["version"] == 1
    again = _post(
        client,
        "radiologist",
        "1.2.3.1",
        {"decision": "rejected", "impression": "artefact", "reason": "motion"},
    )
    assert again.json()["review"] | {"reviewed_at": None} == {
        "state": "rejected",
        "signed": True,
        "reviewer": "radiologist",
        "reviewed_at": None,
        "impression": "artefact",
        "reason": "motion",
        "edited_seg_series_uid": None,
        "version": 2,
    }
    assert again.json()["volumes_source"] == "ai"


@pytest.mark.django_db
def test_the_uid_names_its_owner_never_a_conflict(users: None) -> None:
    """A study of another patient that reuses the UID is never the one signed."""
    owner = _study("1.2.3.1")
    conflict = Study.objects.create(
        study_uid="1.2.3.1",
        claimed_uid=None,
        orthanc_study_id="o-conflict",
        patient=Patient.objects.create(patient_id=OTHER),
        conflict_with=owner,
    )
    _result(conflict)
    client = Client()
    answer = _post(client, "radiologist", "1.2.3.1", {"decision": "accepted", "impression": "ok"})
    assert answer.status_code == 409  # the owner has no AI result; the conflict's is not signed
    assert not Review.objects.exists()


@pytest.mark.django_db
def test_tumour_volumes_over_time(users: None) -> None:
    client = Client()
    base = _study("1.2.3.1", date="20260101")
    _result(base, {"Enhancing tumour": 4.0, "Peritumoural oedema": 6.0})
    _study("1.2.3.2", date="20260201")  # no AI result: kept in place, skipped by the arithmetic
    grown = _study("1.2.3.3", date="20260401")
    grown_job = _result(grown, {"Enhancing tumour": 8.0, "Peritumoural oedema": 7.0})
    _edited_seg(grown, {"Enhancing tumour": 9.0, "Peritumoural oedema": 9.0}, after=grown_job)
    _result(_study("1.2.3.4", date="20260301"), {"Enhancing tumour": 2.0})
    _result(_study("7.7.7", patient=OTHER), {"Enhancing tumour": 50.0})
    body = _get(client, "clinician", f"/api/patients/{PATIENT}/tumour-volumes").json()
    rows = body["studies"]
    assert [r["study_uid"] for r in rows] == ["1.2.3.1", "1.2.3.2", "1.2.3.4", "1.2.3.3"]
    assert [r["total_ml"] for r in rows] == [10.0, None, 2.0, 18.0]
    assert [r["review_state"] for r in rows] == [
        "pending_review",
        None,
        "pending_review",
        "pending_review",
    ]
    assert rows[3]["volumes_source"] == "edited_seg"
    assert rows[2]["change_vs_previous"] == {
        "ml": -8.0,
        "percent": -80.0,
        "base_ml": 10.0,
        "base_study_uid": "1.2.3.1",
    }
    assert rows[3]["change_vs_previous"]["percent"] == 800.0
    assert rows[3]["change_vs_nadir"] == {
        "ml": 16.0,
        "percent": 800.0,
        "base_ml": 2.0,
        "base_study_uid": "1.2.3.4",
    }
    assert rows[0]["labels"][0] == {
        "label": "Enhancing tumour",
        "snomed_code": None,
        "volume_ml": 4.0,
    }


@pytest.mark.django_db
def test_tumour_volumes_only_for_assigned_patients(users: None) -> None:
    client = Client()
    _result(_study("7.7.7", patient=OTHER))
    url = f"/api/patients/{OTHER}/tumour-volumes"
    assert _get(client, "clinician", url).status_code == 403
    assert _get(client, "clinician", "/api/patients/NOBODY/tumour-volumes").status_code == 403
    assert AuditEvent.objects.filter(action="tumour-volumes", allowed=False).count() == 2
    answer = _get(client, "radiologist", url)
    assert answer.status_code == 200
    assert [r["study_uid"] for r in answer.json()["studies"]] == ["7.7.7"]
    assert _get(client, "radiologist", "/api/patients/NOBODY/tumour-volumes").status_code == 404
    assert client.get(url).status_code == 401


@pytest.mark.django_db
def test_admins_see_signatures_and_edits_read_only(users: None) -> None:
    from accounts.models import User  # noqa: PLC0415

    study = _study("1.2.3.1")
    job = _result(study)
    _edited_seg(study, {"Enhancing tumour": 1.0}, after=job)
    client = Client()
    client.post(
        "/api/studies/1.2.3.1/review",
        json.dumps({"decision": "edited", "impression": "x"}),
        content_type="application/json",
        headers=_auth(client, "radiologist"),
    )
    client.force_login(User.objects.get(username="admin"))
    for model in ("review", "editedsegmentation"):
        listing = client.get(f"/api/admin/clinical/{model}/")
        assert listing.status_code == 200, model
        assert b"1.2.3.1" in listing.content
        assert client.get(f"/api/admin/clinical/{model}/add/").status_code == 403


@pytest.mark.django_db
def test_the_follow_up_visits_through_the_api(users: None) -> None:
    """The generator's three visits (grow, then shrink below the baseline), each with its known
    volumes as the AI result: the API's changes are the ground truth's."""
    visits = follow_up(5, tiny_grid())
    names = dict(zip((1, 2, 3), AI, strict=True))
    for number, visit in enumerate(visits):
        study = _study(f"1.2.3.{number + 1}", date=visit.visit.study_date)
        _result(study, {names[value]: ml for value, ml in visit.truth_ml.items()})
    client = Client()
    rows = _get(client, "clinician", f"/api/patients/{PATIENT}/tumour-volumes").json()["studies"]
    totals = [visit.total_ml for visit in visits]
    assert [r["total_ml"] for r in rows] == [pytest.approx(t, abs=1e-3) for t in totals]
    grown, shrunk = rows[1]["change_vs_previous"], rows[2]["change_vs_previous"]
    assert grown["percent"] == pytest.approx(100 * (totals[1] / totals[0] - 1), abs=1e-2)
    assert shrunk["ml"] == pytest.approx(totals[2] - totals[1], abs=1e-2)
    assert rows[2]["change_vs_nadir"]["base_study_uid"] == "1.2.3.1"
    assert rows[2]["change_vs_nadir"]["percent"] < 0  # below the baseline: a new nadir


@pytest.mark.django_db
def test_the_demo_command_says_whether_the_result_is_signed(users: None) -> None:
    from django.core.management import call_command  # noqa: PLC0415

    _result(_study("1.2.3.1"))
    out = io.StringIO()
    call_command("ai_result", "1.2.3.1", stdout=out)
    assert "unsigned: not yet reviewed by a radiologist" in out.getvalue()
    client = Client()
    _post(client, "radiologist", "1.2.3.1", {"decision": "accepted", "impression": "ok"})
    out = io.StringIO()
    call_command("ai_result", "1.2.3.1", stdout=out)
    assert "accepted, signed by radiologist" in out.getvalue()
