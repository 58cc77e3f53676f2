"""Wiring: read-only audit log in Django admin, with CSV export of the selected rows."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from audit.models import AuditEvent

EXPORT_FIELDS = (
    "at",
    "username",
    "user_id",
    "action",
    "allowed",
    "status_code",
    "study_uid",
    "target",
    "client_ip",
    "detail",
)


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Text a spreadsheet would evaluate gets a leading apostrophe (OWASP's advice): usernames,
    targets and details are attacker-chosen (a failed login records whatever was typed)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(events: QuerySet[AuditEvent], response: HttpResponse) -> HttpResponse:
    writer = csv.writer(response)
    writer.writerow(EXPORT_FIELDS)
    for event in events.iterator():
        writer.writerow([neutralise(getattr(event, name)) for name in EXPORT_FIELDS])
    return response


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ("at", "username", "action", "allowed", "status_code", "study_uid", "client_ip")
    list_filter = ("action", "allowed")
    search_fields = ("username", "study_uid", "target")
    actions = ("export_csv",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    @admin.action(description="Export selected events as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return write_csv(queryset, response)
