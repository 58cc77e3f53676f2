"""Wiring: WSGI entry for gunicorn.

``gunicorn neuronova_portal.wsgi -b 127.0.0.1:$DJANGO_PORT`` with PYTHONPATH=django-portal.
Chunked request bodies are spooled to disk first (neuronova_portal.chunked): uploads up to
PORTAL_UPLOAD_MAX_BYTES, anything else up to Django's DATA_UPLOAD_MAX_MEMORY_SIZE.
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from neuronova_portal.chunked import ChunkedBodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neuronova_portal.settings")

UPLOAD_PATH = "/api/pacs/upload"
_MULTIPART_SLACK = 64 * 1024  # part headers and boundaries around the files


def _cap_for(path: str) -> int:
    if path == UPLOAD_PATH:
        return int(settings.CONFIG.upload_max_bytes) + _MULTIPART_SLACK
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


application = ChunkedBodies(
    get_wsgi_application(),
    cap_for=_cap_for,
    temp_dir=lambda: str(settings.FILE_UPLOAD_TEMP_DIR),
)
