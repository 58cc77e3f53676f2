"""Pure: the AI report body for a study from its latest jobs."""

from __future__ import annotations

from typing import Any, Protocol


class JobLike(Protocol):
    state: str
    model_id: str
    model_version: str
    seg_series_uid: str
    volumes_ml: Any


def report_body(*, latest: JobLike | None, latest_done: JobLike | None) -> dict[str, Any]:
    """Status follows the newest job; the figures come from the newest finished one."""
    status = latest.state if latest is not None else "none"
    if latest_done is None:
        return {
            "status": status,
            "model_id": None,
            "model_version": None,
            "seg_series_uid": None,
            "labels": [],
        }
    labels = [
        # snomed_code and colour are not in the job event contract yet; the SEG carries them.
        {"label": label, "snomed_code": None, "color_rgb": None, "volume_ml": float(volume)}
        for label, volume in sorted(dict(latest_done.volumes_ml or {}).items())
    ]
    return {
        "status": status,
        "model_id": latest_done.model_id or None,
        "model_version": latest_done.model_version or None,
        "seg_series_uid": latest_done.seg_series_uid or None,
        "labels": labels,
    }
