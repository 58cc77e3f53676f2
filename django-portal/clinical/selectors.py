"""Adapter (ORM, read-only): what the portal knows about studies, jobs and reports.

A StudyInstanceUID names the study that claims it (``Study.claimed_uid``); conflicts (a later
study of another patient with the same UID) are reachable only by their Orthanc id.
"""

from __future__ import annotations

from collections.abc import Iterable

from authz.identity import StudyRef
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from clinical.models import AIJob, EditedSegmentation, JobState, Review, Series, Study
from clinical.reports import EditedSeg, ReviewFacts


def study_ref(*, study_uid: str) -> StudyRef | None:
    """The exact study a StudyInstanceUID stands for (its owner), or None."""
    row = (
        Study.objects.filter(claimed_uid=study_uid)
        .values_list("orthanc_study_id", "patient__patient_id")
        .first()
    )
    return None if row is None else StudyRef(study_uid, row[1], row[0])


def study_by_uid(*, study_uid: str) -> Study | None:
    """The study that owns this StudyInstanceUID (never a conflict that reuses it)."""
    return Study.objects.select_related("patient").filter(claimed_uid=study_uid).first()


def study_by_orthanc_id(*, orthanc_study_id: str) -> Study | None:
    return Study.objects.select_related("patient").filter(orthanc_study_id=orthanc_study_id).first()


def study_keys_for_patients(*, patient_ids: Iterable[str]) -> frozenset[tuple[str, str]]:
    """(PatientID, StudyInstanceUID) of every study these patients own (conflicts left out)."""
    keys = Study.objects.filter(
        patient__patient_id__in=list(patient_ids), claimed_uid__isnull=False
    ).values_list("patient__patient_id", "study_uid")
    return frozenset((str(pid), str(uid)) for pid, uid in keys)


def conflict_keys() -> frozenset[tuple[str, str]]:
    """(PatientID, StudyInstanceUID) of every conflict: the rows no UID-addressed door shows."""
    rows = Study.objects.filter(claimed_uid__isnull=True).values_list(
        "patient__patient_id", "study_uid"
    )
    return frozenset((str(pid), str(uid)) for pid, uid in rows)


def has_conflicts(*, study_uid: str) -> bool:
    """Whether another patient's study reuses this StudyInstanceUID (Orthanc holds both)."""
    return Study.objects.filter(study_uid=study_uid, claimed_uid__isnull=True).exists()


def conflicting_series_uids(*, study_uid: str) -> frozenset[str]:
    """Series UIDs of conflicts under this StudyInstanceUID (shared series UIDs are ambiguous)."""
    rows = Series.objects.filter(
        study__study_uid=study_uid, study__claimed_uid__isnull=True
    ).values_list("series_uid", flat=True)
    return frozenset(rows)


def visible_studies(
    *, patient_ids: Iterable[str] | None, search: str = "", ai_status: str = ""
) -> QuerySet[Study]:
    """Studies a user may list, each annotated with ``ai_state`` (latest job's state or "none"),
    ``has_result`` (a finished AI result exists) and ``result_review_state`` (the review state of
    the newest finished result; null while pending).

    ``patient_ids`` None means every study (admin / radiologist). Conflicts are never listed
    here (admins review them through /api/conflicts and the Django admin).
    """
    latest_state = (
        AIJob.objects.filter(study=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("state")[:1]
    )
    done = AIJob.objects.filter(study=OuterRef("pk"), state=JobState.DONE)
    latest_review = done.order_by("-event_at", "-id").values("review__state")[:1]
    studies = (
        Study.objects.filter(claimed_uid__isnull=False)
        .select_related("patient")
        .annotate(
            ai_state=Coalesce(Subquery(latest_state), Value("none"), output_field=CharField()),
            has_result=Exists(done),
            result_review_state=Subquery(latest_review),
        )
    )
    if patient_ids is not None:
        studies = studies.filter(patient__patient_id__in=list(patient_ids))
    if search:
        studies = studies.filter(
            Q(patient__patient_id__icontains=search)
            | Q(patient__patient_name__icontains=search)
            | Q(study_description__icontains=search)
            | Q(accession_number__icontains=search)
        )
    if ai_status:
        studies = studies.filter(ai_state=ai_status)
    return studies.order_by("-study_date", "-id")


def conflicts(*, unreviewed_only: bool = False) -> QuerySet[Study]:
    """Studies whose StudyInstanceUID another patient's study claimed first, newest first."""
    rows = Study.objects.filter(claimed_uid__isnull=True).select_related(
        "patient", "conflict_with__patient"
    )
    if unreviewed_only:
        rows = rows.filter(conflict_reviewed_at__isnull=True)
    return rows.order_by("-conflict_since", "-id")


def open_conflict_count() -> int:
    return Study.objects.filter(claimed_uid__isnull=True, conflict_reviewed_at__isnull=True).count()


def study_series(*, study: Study) -> QuerySet[Series]:
    return Series.objects.filter(study=study).order_by("series_number", "id")


def jobs_of(*, study: Study) -> QuerySet[AIJob]:
    return AIJob.objects.filter(study=study).order_by("-created_at", "-id")


def latest_report_job(*, study: Study) -> AIJob | None:
    return (
        AIJob.objects.filter(study=study, state=JobState.DONE).order_by("-event_at", "-id").first()
    )


def _edited(seg: EditedSegmentation | None) -> EditedSeg | None:
    if seg is None:
        return None
    volumes = {str(k): float(v) for k, v in dict(seg.volumes_ml or {}).items()}
    return EditedSeg(series_uid=seg.series_uid, volumes_ml=volumes)


def latest_edited_seg(*, study: Study, job: AIJob) -> EditedSegmentation | None:
    """The newest edited SEG of this study stored after this AI result."""
    return (
        EditedSegmentation.objects.filter(study=study, stored_at__gt=job.event_at)
        .order_by("-stored_at", "-id")
        .first()
    )


def review_facts(*, job: AIJob) -> ReviewFacts:
    """The review of one AI result (pending when never signed)."""
    review = Review.objects.select_related("edited_seg").filter(job=job).first()
    draft = _edited(latest_edited_seg(study=job.study, job=job))
    if review is None:
        return ReviewFacts(draft_seg=draft)
    return ReviewFacts(
        state=review.state,
        version=review.version,
        reviewer=review.reviewer,
        reviewed_at=review.reviewed_at,
        impression=review.impression,
        reason=review.reason,
        signed_seg=_edited(review.edited_seg),
        draft_seg=draft,
    )


def signature_count(*, study: Study, model_id: str) -> int:
    """Signatures given to this model's results of the study, over every job (re-analyses)."""
    versions = Review.objects.filter(job__study=study, job__model_id=model_id).values_list(
        "version", flat=True
    )
    return sum(versions)


def patient_studies(*, patient_id: str) -> QuerySet[Study]:
    """The patient's own studies (conflicts left out), oldest first."""
    return (
        Study.objects.filter(patient__patient_id=patient_id, claimed_uid__isnull=False)
        .select_related("patient")
        .order_by("study_date", "id")
    )
