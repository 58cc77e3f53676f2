#!/usr/bin/env python3
"""Wiring: Django's command-line entry for the NeuroNova portal."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neuronova_portal.settings")
    from django.core.management import execute_from_command_line  # noqa: PLC0415 - after env

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
