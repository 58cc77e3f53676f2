"""Wiring: response shapes of the studies / reports API (presentation only, no logic)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from clinical import review
from clinical.models import AIJob, Patient, Series, Study


class StudyRow(serializers.ModelSerializer[Study]):
    patient_id = serializers.CharField(source="patient.patient_id")
    patient_name = serializers.CharField(source="patient.patient_name")
    modalities = serializers.SerializerMethodField()
    ai_status = serializers.CharField(source="ai_state", default="none")
    review_state = serializers.SerializerMethodField(
        help_text="review of the newest AI result: pending_review, accepted, rejected, edited; "
        "null without a result"
    )
    signed = serializers.SerializerMethodField(help_text="a radiologist signed the AI result")

    class Meta:
        model = Study
        fields = (
            "study_uid",
            "orthanc_study_id",
            "patient_id",
            "patient_name",
            "study_date",
            "study_description",
            "modalities",
            "ai_status",
            "series_count",
            "review_state",
            "signed",
        )

    def get_review_state(self, study: Study) -> str | None:
        if not getattr(study, "has_result", False):
            return None
        return getattr(study, "result_review_state", None) or review.PENDING

    def get_signed(self, study: Study) -> bool:
        return review.is_signed(self.get_review_state(study) or "")

    def get_modalities(self, study: Study) -> list[str]:
        return [m for m in study.modalities.split("\\") if m]


class SeriesRow(serializers.ModelSerializer[Series]):
    class Meta:
        model = Series
        fields = (
            "series_uid",
            "orthanc_series_id",
            "modality",
            "series_number",
            "series_description",
            "instance_count",
        )


class JobRow(serializers.ModelSerializer[AIJob]):
    class Meta:
        model = AIJob
        fields: tuple[str, ...] = (
            "job_id",
            "state",
            "reason",
            "model_id",
            "model_version",
            "seg_series_uid",
            "volumes_ml",
            "qc_score",
            "needs_review",
            "event_at",
            "created_at",
        )


class LabelOut(serializers.Serializer[dict[str, Any]]):
    label = serializers.CharField()  # type: ignore[assignment]  # the API's field name
    snomed_code = serializers.CharField(allow_null=True)
    color_rgb = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    volume_ml = serializers.FloatField()


class ReviewOut(serializers.Serializer[dict[str, Any]]):
    state = serializers.ChoiceField(choices=list(review.STATES))
    signed = serializers.BooleanField(help_text="false: an unsigned AI result, not yet confirmed")
    reviewer = serializers.CharField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    impression = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="why the result was rejected")
    edited_seg_series_uid = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(help_text="signatures so far; more than 1: amended")


class ReportOut(serializers.Serializer[dict[str, Any]]):
    status = serializers.CharField()
    model_id = serializers.CharField(allow_null=True)
    model_version = serializers.CharField(allow_null=True)
    seg_series_uid = serializers.CharField(allow_null=True)
    qc_score = serializers.FloatField(
        allow_null=True, help_text="quality control of the result, 0..1 (null: not scored)"
    )
    needs_review = serializers.BooleanField(
        help_text="the result's QC score is under the model's threshold: a radiologist reviews it"
    )
    labels = LabelOut(many=True)
    volumes_source = serializers.ChoiceField(
        choices=["ai", "edited_seg"],
        allow_null=True,
        help_text="where the volumes come from: the AI's result or the radiologist's edited SEG "
        "(counted by the server from its pixels)",
    )
    review = ReviewOut(allow_null=True)


class StudyDetailOut(serializers.Serializer[dict[str, Any]]):
    study = StudyRow()
    series = SeriesRow(many=True)
    report = ReportOut()
    jobs = JobRow(many=True)


class PatientRow(serializers.ModelSerializer[Patient]):
    class Meta:
        model = Patient
        fields = ("patient_id", "patient_name", "birth_date", "sex")


class ReanalyzeOut(JobRow):
    """The job the re-analysis created (as in .../jobs), plus the earlier answer's two fields."""

    status = serializers.CharField(help_text="the job's state (kept for earlier clients)")
    plugin = serializers.DictField(help_text="the plugin's own answer: job_id, state, reason")

    class Meta(JobRow.Meta):
        fields = (*JobRow.Meta.fields, "status", "plugin")
