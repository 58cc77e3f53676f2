"""Wiring: Django admin for the clinical mirror (read-mostly)."""

from django.contrib import admin

from clinical.models import AIJob, Patient, Series, Study


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    list_display = ("patient_id", "patient_name", "birth_date", "sex")
    search_fields = ("patient_id", "patient_name")


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin[Study]):
    list_display = ("study_uid", "patient", "study_date", "study_description", "modalities")
    search_fields = ("study_uid", "patient__patient_id", "accession_number")


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin[Series]):
    list_display = ("series_uid", "study", "modality", "series_description")


@admin.register(AIJob)
class AIJobAdmin(admin.ModelAdmin[AIJob]):
    list_display = ("job_id", "study", "state", "model_id", "model_version", "event_at")
    list_filter = ("state",)
