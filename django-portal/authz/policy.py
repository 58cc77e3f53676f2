"""Pure: the access policy for one study.

Admins and radiologists read every study; a clinician reads a study only when the patient who
owns that exact study is assigned to them. A StudyInstanceUID reused by another patient's study
(a conflict) never names that other study here: the UID stands for its owner only.
"""

from __future__ import annotations

from dataclasses import dataclass

from authz.identity import StudyRef
from authz.principal import Principal


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    fresh: bool  # computed now (audit it) rather than served from the cache
    study: StudyRef | None = None  # the exact study allowed; None: not known to the portal yet


def decide(principal: Principal, study: StudyRef | None) -> Decision:
    if not principal.active:
        return Decision(False, "user inactive", fresh=True)
    if principal.sees_everything:
        return Decision(True, f"role {principal.role}", fresh=True, study=study)
    if study is None:
        return Decision(False, "study unknown to the portal", fresh=True)
    assert principal.patient_ids is not None
    if study.patient_id in principal.patient_ids:
        return Decision(True, "assigned patient", fresh=True, study=study)
    return Decision(False, "patient not assigned", fresh=True)
