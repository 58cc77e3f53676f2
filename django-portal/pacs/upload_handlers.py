"""Wiring: Django upload handler that writes every uploaded file to disk and caps the request.

A request whose files together pass PORTAL_UPLOAD_MAX_BYTES stops being read at that point
(the files so far are discarded) and is marked, so the upload view answers 413.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest

TOO_LARGE = "_neuronova_upload_too_large"


def too_large(request: HttpRequest) -> bool:
    return bool(getattr(request, TOO_LARGE, False))


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._received += len(raw_data)
        if self._received > settings.CONFIG.upload_max_bytes:
            if self.request is not None:
                setattr(self.request, TOO_LARGE, True)
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)
