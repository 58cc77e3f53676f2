"""Wiring: Django admin for the clinical mirror (read-mostly), with the StudyInstanceUID
conflicts an admin reviews (filter "conflict: yes")."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from clinical import services
from clinical.models import AIJob, EditedSegmentation, Patient, Review, Series, Study


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    list_display = ("patient_id", "patient_name", "birth_date", "sex")
    search_fields = ("patient_id", "patient_name")


class ConflictFilter(admin.SimpleListFilter):
    title = "conflict"
    parameter_name = "conflict"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:  # noqa: ANN401
        return [("open", "yes, not reviewed"), ("yes", "yes"), ("no", "no")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Study]) -> QuerySet[Study]:
        if self.value() == "open":
            return queryset.filter(claimed_uid__isnull=True, conflict_reviewed_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(claimed_uid__isnull=True)
        if self.value() == "no":
            return queryset.filter(claimed_uid__isnull=False)
        return queryset


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin[Study]):
    list_display = (
        "study_uid",
        "patient",
        "study_date",
        "study_description",
        "modalities",
        "is_conflict",
        "conflict_with",
        "conflict_reviewed_at",
    )
    list_filter = (ConflictFilter,)
    search_fields = ("study_uid", "orthanc_study_id", "patient__patient_id", "accession_number")
    readonly_fields = (
        "study_uid",
        "orthanc_study_id",
        "claimed_uid",
        "patient",
        "conflict_with",
        "conflict_since",
        "conflict_reviewed_at",
    )
    actions = ("mark_reviewed", "hand_uid")

    @admin.display(boolean=True, description="conflict")
    def is_conflict(self, study: Study) -> bool:
        return study.is_conflict

    @admin.action(description="Mark the selected conflicts reviewed (they stay hidden)")
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        for study in queryset.filter(claimed_uid__isnull=True):
            services.review_conflict(study=study, reviewer=request.user.get_username())

    @admin.action(description="Give the StudyInstanceUID to the selected conflict")
    def hand_uid(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        chosen = list(queryset.filter(claimed_uid__isnull=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, "select exactly one conflict", messages.ERROR)
            return
        services.hand_uid_to(study=chosen[0], reviewer=request.user.get_username())


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin[Series]):
    list_display = ("series_uid", "study", "modality", "series_description")
    search_fields = ("series_uid", "orthanc_series_id")


@admin.register(AIJob)
class AIJobAdmin(admin.ModelAdmin[AIJob]):
    list_display = ("job_id", "study", "state", "model_id", "model_version", "event_at")
    list_filter = ("state",)


class _ReadOnly:
    """Signatures and stored edits change only through the API (radiologists, audited)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # noqa: ANN401
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # noqa: ANN401
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # noqa: ANN401
        return False


@admin.register(Review)
class ReviewAdmin(_ReadOnly, admin.ModelAdmin[Review]):
    list_display = ("job", "state", "reviewer", "reviewed_at", "version")
    list_filter = ("state",)
    search_fields = ("job__job_id", "job__study__study_uid", "reviewer")


@admin.register(EditedSegmentation)
class EditedSegmentationAdmin(_ReadOnly, admin.ModelAdmin[EditedSegmentation]):
    list_display = ("series_uid", "study", "created_by", "stored_at")
    search_fields = ("series_uid", "sop_instance_uid", "study__study_uid", "created_by")
