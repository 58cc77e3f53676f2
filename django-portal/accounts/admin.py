"""Wiring: Django admin for users (with role) and clinician-patient assignments."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import PatientAssignment, User


class AssignmentInline(admin.TabularInline[PatientAssignment, User]):
    model = PatientAssignment
    fk_name = "user"
    extra = 1


@admin.register(User)
class UserAdmin(BaseUserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    fieldsets: Any = (*BaseUserAdmin.fieldsets, ("NeuroNova", {"fields": ("role",)}))  # type: ignore[misc]
    inlines = (AssignmentInline,)


@admin.register(PatientAssignment)
class PatientAssignmentAdmin(admin.ModelAdmin[PatientAssignment]):
    list_display = ("user", "patient_id", "assigned_at")
    search_fields = ("user__username", "patient_id")
