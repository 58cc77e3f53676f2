"""Pure: the AI report body for a study from its latest jobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from clinical import review as review_rules


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


@dataclass(frozen=True, slots=True)
class EditedSeg:
    series_uid: str
    volumes_ml: Mapping[str, float]  # counted by the server from the SEG's pixels


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """What the portal knows of the review of one AI result (clinical.selectors fills it)."""

    state: str = review_rules.PENDING
    version: int = 0
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    impression: str = ""
    reason: str = ""
    signed_seg: EditedSeg | None = None  # the edited SEG the signature names (state edited)
    draft_seg: EditedSeg | None = None  # the newest edited SEG stored after the AI result

    @property
    def signed(self) -> bool:
        return review_rules.is_signed(self.state)

    @property
    def seg(self) -> EditedSeg | None:
        """The edited SEG whose volumes stand for the result: once signed, the one the
        signature names (none for accepted or rejected: the AI's figures were judged); before,
        the newest edit, so the reader sees the figures being signed."""
        if self.signed:
            return self.signed_seg if self.state == review_rules.EDITED else None
        return self.draft_seg


def review_body(facts: ReviewFacts) -> dict[str, Any]:
    seg = facts.seg
    return {
        "state": facts.state,
        "signed": facts.signed,
        "reviewer": facts.reviewer,
        "reviewed_at": facts.reviewed_at.isoformat() if facts.reviewed_at else None,
        "impression": facts.impression or None,
        "reason": facts.reason or None,
        "edited_seg_series_uid": seg.series_uid if seg else None,
        "version": facts.version,
    }


def reviewed_volumes(job: JobLike, facts: ReviewFacts) -> Mapping[str, Any]:
    """The volumes that stand for a result: the edited SEG's (see ReviewFacts.seg) or the AI's."""
    seg = facts.seg
    return seg.volumes_ml if seg is not None else dict(job.volumes_ml or {})


def report_body(
    *,
    latest: JobLike | None,
    latest_done: JobLike | None,
    labels_of: Callable[[str, str], Mapping[str, LabelLike]] = lambda _id, _version: {},
    review: ReviewFacts | None = None,
) -> dict[str, Any]:
    """Status follows the newest job; the figures come from the newest finished one, or from
    the radiologist's edited SEG of it (``review``; none given: pending, the AI's figures).

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
            "volumes_source": None,
            "review": None,
        }
    facts = review or ReviewFacts()
    known = labels_of(latest_done.model_id, latest_done.model_version)
    labels = [
        {
            "label": label,
            "snomed_code": info.snomed_code if info else None,
            "color_rgb": list(info.color_rgb) if info and info.color_rgb else None,
            "volume_ml": volume,
        }
        for label, volume, info in labelled_volumes(reviewed_volumes(latest_done, facts), known)
    ]
    return {
        "status": status,
        "model_id": latest_done.model_id or None,
        "model_version": latest_done.model_version or None,
        "seg_series_uid": latest_done.seg_series_uid or None,
        "qc_score": latest_done.qc_score,
        "needs_review": bool(latest_done.needs_review),
        "labels": labels,
        "volumes_source": "edited_seg" if facts.seg is not None else "ai",
        "review": review_body(facts),
    }
