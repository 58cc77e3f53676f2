"""Pure: a patient's tumour volumes over time — change against the previous study and the nadir.

Studies arrive in date order. A study without an AI result keeps its place with null figures and
is skipped by the arithmetic: "previous" is the latest earlier study with a result, the nadir is
the smallest total among earlier studies with a result. Percentages are against that base; a
base of 0 mL has no percentage (null).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Point:
    """One study's figures: ``volumes_ml`` None when the study has no AI result."""

    key: str  # the study's UID, named in the change so a reader knows the base
    volumes_ml: Mapping[str, float] | None


def _round(value: float) -> float:
    return round(value, 3)


def change(current: float, base: float, base_key: str) -> dict[str, Any]:
    delta = current - base
    return {
        "ml": _round(delta),
        "percent": _round(100.0 * delta / base) if base > 0 else None,
        "base_ml": _round(base),
        "base_study_uid": base_key,
    }


def total(volumes_ml: Mapping[str, float]) -> float:
    return float(sum(volumes_ml.values()))


def changes(points: Sequence[Point]) -> list[dict[str, Any]]:
    """Per point: ``total_ml``, ``change_vs_previous`` and ``change_vs_nadir`` (null when there
    is no earlier result), in the points' order."""
    out: list[dict[str, Any]] = []
    previous: tuple[str, float] | None = None
    nadir: tuple[str, float] | None = None
    for point in points:
        if point.volumes_ml is None:
            out.append({"total_ml": None, "change_vs_previous": None, "change_vs_nadir": None})
            continue
        now = total(point.volumes_ml)
        out.append(
            {
                "total_ml": _round(now),
                "change_vs_previous": change(now, previous[1], previous[0]) if previous else None,
                "change_vs_nadir": change(now, nadir[1], nadir[0]) if nadir else None,
            }
        )
        previous = (point.key, now)
        if nadir is None or now < nadir[1]:
            nadir = (point.key, now)
    return out
