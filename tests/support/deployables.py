"""Test helpers: the PYTHONPATH a deployable's process runs with (its folder and the shared
contracts/, as stack/render.py gives supervisord's programs)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def python_path(folder: str) -> str:
    """``folder`` ("inference", "django-portal") with the contracts every deployable imports."""
    return f"{REPO / folder}:{REPO / 'contracts'}"
