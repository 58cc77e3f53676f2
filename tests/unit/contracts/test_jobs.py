"""The job event: one builder (plugin, worker) and one validator (portal)."""

from __future__ import annotations

from typing import Any

import pytest
from neuronova_contracts.jobs import (
    FINAL_STATES,
    InvalidJobEventError,
    JobEvent,
    JobState,
    job_event,
    job_id,
)

IDS: dict[str, Any] = {"job_id": "s1:m:1", "study_uid": "1.2.3", "orthanc_study_id": "s1"}


def test_job_ids_name_the_study_and_the_model_version() -> None:
    assert job_id("ab12-cd34", "nn-brain", "1.0.0") == "ab12-cd34:nn-brain:1.0.0"


def test_what_the_builder_sends_the_validator_reads_back() -> None:
    kwargs = job_event(
        **IDS,
        state=JobState.DONE,
        model_id="m",
        model_version="1",
        seg_series_uid="1.2.3.4",
        volumes_ml={"oedema": 12.5},
        qc_score=0.93,
        needs_review=False,
        qc={"dice_flip": 0.9},
    )
    assert kwargs["state"] == "done"
    assert type(kwargs["state"]) is str  # JSON on the wire, not an enum
    assert kwargs["at"]  # stamped by the sender
    event = JobEvent.from_kwargs(kwargs)
    assert event.to_kwargs() == kwargs
    assert event.state is JobState.DONE


def test_the_plugins_early_events_carry_every_field_with_empty_results() -> None:
    kwargs = job_event(**IDS, state=JobState.QUEUED, model_id="m", model_version="1")
    assert kwargs["seg_series_uid"] == ""
    assert kwargs["volumes_ml"] == {}
    assert kwargs["qc_score"] is None
    assert kwargs["needs_review"] is False


def test_unknown_fields_are_ignored_and_missing_optional_ones_default() -> None:
    event = JobEvent.from_kwargs({**IDS, "state": "running", "from_a_newer_sender": 1})
    assert event.state is JobState.RUNNING
    assert (event.reason, event.volumes_ml, event.qc_score, event.qc) == ("", {}, None, {})


@pytest.mark.parametrize(
    "kwargs",
    [
        {**IDS, "state": "finished"},
        {**IDS},
        {"job_id": "j", "study_uid": "1.2", "state": "done"},
        {**IDS, "orthanc_study_id": None, "state": "done"},
    ],
)
def test_an_event_without_identity_or_a_known_state_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidJobEventError):
        JobEvent.from_kwargs(kwargs)


def test_junk_in_optional_fields_is_dropped_not_trusted() -> None:
    event = JobEvent.from_kwargs(
        {
            **IDS,
            "state": "done",
            "qc_score": "high",
            "needs_review": "yes",
            "qc": [1],
            "volumes_ml": 3,
        }
    )
    assert (event.qc_score, event.needs_review, event.qc, event.volumes_ml) == (None, False, {}, {})


def test_final_states() -> None:
    assert {JobState.QUEUED, JobState.RUNNING}.isdisjoint(FINAL_STATES)
    assert set(JobState) - FINAL_STATES == {JobState.QUEUED, JobState.RUNNING}
