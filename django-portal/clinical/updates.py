"""Wiring: who hears that a study's record changed (mirrored, re-owned, or given an AI job event).

Apps that follow the clinical record (FHIR sync) register from their AppConfig.ready(), so
clinical imports none of them and they depend on clinical, never the other way round. Listeners
run from ``transaction.on_commit``: after the change is durable.
"""

from __future__ import annotations

from typing import Protocol


class StudyListener(Protocol):
    def __call__(self, *, study_uid: str) -> None: ...


_listeners: list[StudyListener] = []


def listen(listener: StudyListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def study_updated(study_uid: str) -> None:
    for listener in list(_listeners):
        listener(study_uid=study_uid)
