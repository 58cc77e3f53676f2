"""Wiring: ``manage.py assign_patient USERNAME PATIENT_ID [...]`` — give a clinician patients."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Assign DICOM PatientIDs to a clinician (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("patient_ids", nargs="+")

    def handle(self, *args: object, **options: Any) -> None:  # noqa: ANN401
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        for patient_id in options["patient_ids"]:
            services.assign_patient(user=user, patient_id=patient_id)
        self.stdout.write(f"{user.username}: {', '.join(options['patient_ids'])}")
