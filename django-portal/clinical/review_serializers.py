"""Wiring: request and response shapes of the review and tumour-volume routes (no logic)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from clinical import review


class ReviewIn(serializers.Serializer[dict[str, Any]]):
    decision = serializers.ChoiceField(choices=list(review.DECISIONS))
    impression = serializers.CharField(max_length=review.MAX_TEXT, allow_blank=True)
    reason = serializers.CharField(
        max_length=review.MAX_TEXT, required=False, allow_blank=True, allow_null=True
    )


class ChangeOut(serializers.Serializer[dict[str, Any]]):
    ml = serializers.FloatField()
    percent = serializers.FloatField(allow_null=True, help_text="null when the base is 0 mL")
    base_ml = serializers.FloatField()
    base_study_uid = serializers.CharField()


class VolumeOut(serializers.Serializer[dict[str, Any]]):
    label = serializers.CharField()  # type: ignore[assignment]  # the API's field name
    snomed_code = serializers.CharField(allow_null=True)
    volume_ml = serializers.FloatField()


class StudyVolumesOut(serializers.Serializer[dict[str, Any]]):
    study_uid = serializers.CharField()
    orthanc_study_id = serializers.CharField()
    study_date = serializers.CharField()
    study_description = serializers.CharField()
    review_state = serializers.ChoiceField(choices=list(review.STATES), allow_null=True)
    signed = serializers.BooleanField()
    volumes_source = serializers.ChoiceField(choices=["ai", "edited_seg"], allow_null=True)
    labels = VolumeOut(many=True)
    total_ml = serializers.FloatField(allow_null=True)
    change_vs_previous = ChangeOut(allow_null=True)
    change_vs_nadir = ChangeOut(allow_null=True, help_text="against the smallest earlier total")


class TumourVolumesOut(serializers.Serializer[dict[str, Any]]):
    patient_id = serializers.CharField()
    patient_name = serializers.CharField()
    studies = StudyVolumesOut(many=True)
