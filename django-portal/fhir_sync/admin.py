"""Wiring: Django admin for FHIR sync state (operators read `last_error` and re-queue here)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from fhir_sync.models import FhirSyncState
from fhir_sync.tasks import QUEUE, sync_study


@admin.register(FhirSyncState)
class FhirSyncStateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("study_uid", "status", "requested_at", "synced_at", "attempts", "last_error")
    list_filter = ("status",)
    search_fields = ("study_uid",)
    readonly_fields = (
        "study_uid",
        "status",
        "requested_at",
        "synced_at",
        "attempts",
        "last_error",
        "resources_sent",
        "failures",
        "resource_ids",
        "updated_at",
    )
    actions = ("resync",)

    @admin.action(description="Send again to the FHIR server")
    def resync(self, request: HttpRequest, queryset: QuerySet[FhirSyncState]) -> None:
        for state in queryset:
            sync_study.apply_async(kwargs={"study_uid": state.study_uid}, queue=QUEUE)
        self.message_user(request, f"{queryset.count()} studies queued", messages.SUCCESS)
