"""Wiring: ``manage.py seed_dev_users`` — dev users and the demo assignment; never in production."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = "Create (or reset) the dev users; assign the demo patients to 'clinician'."

    def handle(self, *args: object, **options: Any) -> None:  # noqa: ANN401
        if settings.CONFIG.production:
            raise CommandError("refusing to seed dev users with NEURONOVA_ENV=production")
        users = services.seed_dev_users()
        self.stdout.write(", ".join(f"{u.username} ({u.role})" for u in users))
