"""Adapter (ORM, read-only): what the portal knows about studies, jobs and reports."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import CharField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from clinical.models import AIJob, JobState, Series, Study


def patient_id_for_study(*, study_uid: str) -> str | None:
    return (
        Study.objects.filter(study_uid=study_uid)
        .values_list("patient__patient_id", flat=True)
        .first()
    )


def study_keys_for_patients(*, patient_ids: Iterable[str]) -> frozenset[tuple[str, str]]:
    """(PatientID, StudyInstanceUID) of every study of these patients."""
    keys = Study.objects.filter(patient__patient_id__in=list(patient_ids)).values_list(
        "patient__patient_id", "study_uid"
    )
    return frozenset((str(pid), str(uid)) for pid, uid in keys)


def visible_studies(
    *, patient_ids: Iterable[str] | None, search: str = "", ai_status: str = ""
) -> QuerySet[Study]:
    """Studies a user may list, each annotated with ``ai_state`` (latest job's state or "none").

    ``patient_ids`` None means every study (admin / radiologist).
    """
    latest_state = (
        AIJob.objects.filter(study=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("state")[:1]
    )
    studies = Study.objects.select_related("patient").annotate(
        ai_state=Coalesce(Subquery(latest_state), Value("none"), output_field=CharField())
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


def study_series(*, study: Study) -> QuerySet[Series]:
    return Series.objects.filter(study=study).order_by("series_number", "id")


def jobs_of(*, study: Study) -> QuerySet[AIJob]:
    return AIJob.objects.filter(study=study).order_by("-created_at", "-id")


def latest_report_job(*, study: Study) -> AIJob | None:
    return (
        AIJob.objects.filter(study=study, state=JobState.DONE).order_by("-event_at", "-id").first()
    )


def study_by_uid(*, study_uid: str) -> Study | None:
    return Study.objects.filter(study_uid=study_uid).first()
