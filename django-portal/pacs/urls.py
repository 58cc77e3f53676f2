"""Wiring: /api/pacs/ routes resolved by Django's URL conf.

``dicom-web/…`` and ``wado`` are not here: pacs.middleware.ImageGatewayMiddleware, first in
MIDDLEWARE, hands them to pacs.views before URL resolution.
"""

from django.urls import path

from pacs import upload_views

urlpatterns = [
    path("upload", upload_views.UploadView.as_view(), name="upload"),
]
