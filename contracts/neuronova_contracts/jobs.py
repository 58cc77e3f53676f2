"""Pure: AI job states, job ids and the job event sent to ``neuronova.portal.job_event``.

The plugin (queued, skipped) and the inference worker (running, done, failed) build events with
:func:`job_event`; the portal reads them with :meth:`JobEvent.from_kwargs`, which ignores fields
it does not know, so a sender may add one before every receiver reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # with a reason
    SKIPPED = "skipped"  # not eligible, with the reason


FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.SKIPPED})


class InvalidJobEventError(ValueError):
    """A job event without its identity or with an unknown state."""


def job_id(orthanc_study_id: str, model_id: str, model_version: str) -> str:
    """The job of one model version on one exact Orthanc study (its idempotency key); a
    re-analysis appends ``:r<n>``."""
    return f"{orthanc_study_id}:{model_id}:{model_version}"


@dataclass(frozen=True, slots=True)
class JobEvent:
    job_id: str
    study_uid: str
    orthanc_study_id: str
    state: JobState
    reason: str = ""
    model_id: str = ""
    model_version: str = ""
    seg_series_uid: str = ""
    volumes_ml: Mapping[str, float] = field(default_factory=dict)  # label name -> mL
    qc_score: float | None = None  # 0..1; None before a result exists
    needs_review: bool = False
    qc: Mapping[str, Any] = field(default_factory=dict)
    at: str = ""  # ISO 8601 time the sender saw the state

    def to_kwargs(self) -> dict[str, Any]:
        """The task's keyword arguments (JSON values only)."""
        kwargs = asdict(self)
        kwargs["state"] = str(self.state)
        kwargs["volumes_ml"] = dict(self.volumes_ml)
        kwargs["qc"] = dict(self.qc)
        return kwargs

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, object]) -> JobEvent:
        """Validate a received event; unknown fields are ignored, missing optional ones default."""
        ids = {name: kwargs.get(name) for name in ("job_id", "study_uid", "orthanc_study_id")}
        if not all(isinstance(value, str) for value in ids.values()):
            raise InvalidJobEventError(f"job event without its identity: {ids!r}")
        try:
            state = JobState(str(kwargs.get("state")))
        except ValueError as exc:
            raise InvalidJobEventError(f"unknown job state {kwargs.get('state')!r}") from exc
        volumes = kwargs.get("volumes_ml")
        score = kwargs.get("qc_score")
        qc = kwargs.get("qc")
        return cls(
            job_id=str(ids["job_id"]),
            study_uid=str(ids["study_uid"]),
            orthanc_study_id=str(ids["orthanc_study_id"]),
            state=state,
            reason=_text(kwargs, "reason"),
            model_id=_text(kwargs, "model_id"),
            model_version=_text(kwargs, "model_version"),
            seg_series_uid=_text(kwargs, "seg_series_uid"),
            volumes_ml=dict(volumes) if isinstance(volumes, Mapping) else {},
            qc_score=float(score) if isinstance(score, int | float) else None,
            needs_review=kwargs.get("needs_review") is True,
            qc=dict(qc) if isinstance(qc, Mapping) else {},
            at=_text(kwargs, "at"),
        )


def _text(kwargs: Mapping[str, object], name: str) -> str:
    return str(kwargs.get(name) or "")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def job_event(
    *,
    job_id: str,
    study_uid: str,
    orthanc_study_id: str,
    state: JobState,
    model_id: str,
    model_version: str,
    reason: str = "",
    seg_series_uid: str = "",
    volumes_ml: Mapping[str, float] | None = None,
    qc_score: float | None = None,
    needs_review: bool = False,
    qc: Mapping[str, Any] | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of one ``neuronova.portal.job_event`` task, stamped now."""
    return JobEvent(
        job_id=job_id,
        study_uid=study_uid,
        orthanc_study_id=orthanc_study_id,
        state=JobState(state),
        reason=reason,
        model_id=model_id,
        model_version=model_version,
        seg_series_uid=seg_series_uid,
        volumes_ml=dict(volumes_ml or {}),
        qc_score=qc_score,
        needs_review=needs_review,
        qc=dict(qc or {}),
        at=at or now_iso(),
    ).to_kwargs()
