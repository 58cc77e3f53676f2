"""Pure: the review of one AI result — its state machine and what a signature means.

Every AI result starts ``pending_review``. A radiologist signs it with an impression as
``accepted``, ``rejected`` (a reason is required) or ``edited`` (an edited SEG stored for that
study after the AI result is required). A signed result may be signed again (the radiologist
changes the verdict or stores a later edit): that is an amendment. Nothing returns to pending.
The EMR hears ``preliminary`` until the first signature, ``final`` after it and ``amended``
after any later one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PENDING = "pending_review"
ACCEPTED = "accepted"
REJECTED = "rejected"
EDITED = "edited"
DECISIONS = (ACCEPTED, REJECTED, EDITED)
STATES = (PENDING, *DECISIONS)
MAX_TEXT = 10_000

FhirStatus = Literal["preliminary", "final", "amended"]


class ReviewRefused(ValueError):  # noqa: N818 - a refusal, with the reason the client reads
    """The requested transition is not allowed; ``str()`` is the reason."""


@dataclass(frozen=True, slots=True)
class Signature:
    state: str
    impression: str
    reason: str
    version: int  # 1: first signature; more: an amendment


def sign(
    *,
    current: str,
    version: int,
    decision: str,
    impression: str,
    reason: str = "",
    has_edited_seg: bool = False,
) -> Signature:
    """The signature a radiologist's decision makes of a result now in ``current`` state
    (``version`` signatures so far); raises ReviewRefused."""
    if current not in STATES:
        raise ReviewRefused(f"unknown review state {current!r}")
    if decision not in DECISIONS:
        raise ReviewRefused(f"decision must be one of {', '.join(DECISIONS)}")
    impression, reason = impression.strip(), reason.strip()
    if not impression:
        raise ReviewRefused("an impression is required to sign")
    if len(impression) > MAX_TEXT or len(reason) > MAX_TEXT:
        raise ReviewRefused(f"impression and reason are at most {MAX_TEXT} characters")
    if decision == REJECTED and not reason:
        raise ReviewRefused("a rejection needs a reason")
    if decision == EDITED and not has_edited_seg:
        raise ReviewRefused(
            "no edited SEG of this study was stored after the AI result: store it through "
            "STOW-RS (POST /api/pacs/dicom-web/studies) first"
        )
    return Signature(
        state=decision,
        impression=impression,
        reason=reason if decision == REJECTED else "",
        version=(version + 1) if current != PENDING else 1,
    )


def is_signed(state: str) -> bool:
    return state in DECISIONS


def fhir_status(*, state: str, version: int) -> FhirStatus:
    if not is_signed(state):
        return "preliminary"
    return "final" if version <= 1 else "amended"
