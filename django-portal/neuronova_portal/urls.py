"""Wiring: the portal's URL map (everything public lives under /api/)."""

from django.contrib import admin
from django.urls import path
from health.views import health

urlpatterns = [
    path("api/health", health, name="health"),
    path("api/admin/", admin.site.urls),
]
