"""Wiring: the portal's URL map (everything public lives under /api/)."""

from audit.views import AuditExport
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from health.views import health, prometheus_metrics

urlpatterns = [
    path("api/health", health, name="health"),
    path("api/metrics", prometheus_metrics, name="metrics"),
    path("api/auth/", include("accounts.urls")),
    path("api/pacs/", include("pacs.urls")),
    path("api/", include("clinical.urls")),
    path("api/audit/export", AuditExport.as_view(), name="audit-export"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/admin/", admin.site.urls),
]
