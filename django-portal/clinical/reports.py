"""Pure: the AI report body for a study from its latest jobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar


class LabelLike(Protocol):
    @property
    def snomed_code(self) -> str | None: ...
    @property
    def color_rgb(self) -> tuple[int, int, int] | None: ...


L = TypeVar("L", bound=LabelLike)


class JobLike(Protocol):
    state: str
    model_id: str
    model_version: str
    seg_series_uid: str
    volumes_ml: Any
    qc_score: float | None
    needs_review: bool


def labelled_volumes(
    volumes_ml: Mapping[str, Any] | None, known: Mapping[str, L]
) -> list[tuple[str, float, L | None]]:
    """A job's volumes by label name, each with what the model manifest says of that label
    (``known``, from ``labels_of``) or None. The portal report and the FHIR sync both use it."""
    return [
        (str(label), float(volume), known.get(str(label)))
        for label, volume in sorted(dict(volumes_ml or {}).items())
    ]


def report_body(
    *,
    latest: JobLike | None,
    latest_done: JobLike | None,
    labels_of: Callable[[str, str], Mapping[str, LabelLike]] = lambda _id, _version: {},
) -> dict[str, Any]:
    """Status follows the newest job; the figures come from the newest finished one.

    ``labels_of(model_id, model_version)`` gives each label's SNOMED CT code and colour (from the
    model's manifest); a label it does not know keeps null code and colour.
    """
    status = latest.state if latest is not None else "none"
    if latest_done is None:
        return {
            "status": status,
            "model_id": None,
            "model_version": None,
            "seg_series_uid": None,
            "qc_score": None,
            "needs_review": False,
            "labels": [],
        }
    known = labels_of(latest_done.model_id, latest_done.model_version)
    labels = [
        {
            "label": label,
            "snomed_code": info.snomed_code if info else None,
            "color_rgb": list(info.color_rgb) if info and info.color_rgb else None,
            "volume_ml": volume,
        }
        for label, volume, info in labelled_volumes(latest_done.volumes_ml, known)
    ]
    return {
        "status": status,
        "model_id": latest_done.model_id or None,
        "model_version": latest_done.model_version or None,
        "seg_series_uid": latest_done.seg_series_uid or None,
        "qc_score": latest_done.qc_score,
        "needs_review": bool(latest_done.needs_review),
        "labels": labels,
    }
