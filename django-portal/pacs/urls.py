"""Wiring: /api/pacs/ routes resolved by Django's URL conf.

``dicom-web/…`` and ``wado`` are not here: pacs.middleware.ImageGatewayMiddleware, first in
MIDDLEWARE, hands them to pacs.views before URL resolution; the one exception is STOW-RS
(``POST dicom-web/studies``), which it leaves to this URL conf.
"""

from django.urls import path

from pacs import stow_views, upload_views

urlpatterns = [
    path("upload", upload_views.UploadView.as_view(), name="upload"),
    path("dicom-web/studies", stow_views.StowView.as_view(), name="stow"),
]
