"""Wiring: /api/pacs/ routes."""

from django.urls import path, re_path

from pacs import upload_views, views

urlpatterns = [
    re_path(r"^dicom-web/(?P<path>.*)$", views.dicomweb, name="dicomweb"),
    path("wado", views.wado, name="wado"),
    path("upload", upload_views.UploadView.as_view(), name="upload"),
]
