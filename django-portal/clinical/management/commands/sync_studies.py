"""Wiring: ``manage.py sync_studies`` — reconcile the mirror with every study in Orthanc.

For a portal that missed study_stable events (fresh database, long outage). Idempotent.
"""

from typing import Any

from archive.orthanc import OrthancClient, OrthancError
from django.conf import settings
from django.core.management.base import BaseCommand

from clinical import services


class Command(BaseCommand):
    help = "Mirror every Orthanc study (patient, study, series) into the portal database."

    def handle(self, *args: object, **options: Any) -> None:  # noqa: ANN401
        config = settings.CONFIG
        orthanc = OrthancClient(
            config.orthanc_url, config.orthanc_username, config.orthanc_password
        )
        synced = failed = 0
        try:
            for orthanc_study_id in list(orthanc.all_study_ids()):
                try:
                    services.sync_study(orthanc=orthanc, orthanc_study_id=orthanc_study_id)
                    synced += 1
                except OrthancError as exc:
                    failed += 1
                    self.stderr.write(f"{orthanc_study_id}: {exc}")
        finally:
            orthanc.close()
        self.stdout.write(f"synced {synced} studies, {failed} failed")
