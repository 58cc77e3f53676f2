"""The sync's decisions: what counts as unchanged, when a report is amended, back-off, lag."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fhir_sync import tasks
from fhir_sync.metrics import lag_seconds
from fhir_sync.sync import contains, report_status
from fhir_sync.values import AiResult, ReviewInfo

RESULT = AiResult("job-2", "m", "1", "1.2", datetime(2026, 1, 1, tzinfo=UTC))


def test_contains_ignores_what_the_server_adds() -> None:
    ours = {"resourceType": "Patient", "name": [{"family": "Doe"}], "x": 1}
    theirs = {**ours, "id": "p", "meta": {"versionId": "1"}, "x": 1.0, "text": {"div": "..."}}
    assert contains(ours, theirs)


@pytest.mark.parametrize(
    "theirs",
    [
        {"resourceType": "Patient", "name": [{"family": "Roe"}], "x": 1},
        {"resourceType": "Patient", "name": [{"family": "Doe"}, {"family": "Roe"}], "x": 1},
        {"resourceType": "Patient", "name": [{"family": "Doe"}]},
        {"resourceType": "Patient", "name": [{"family": "Doe"}], "x": True},
    ],
)
def test_contains_sees_any_difference_in_what_we_send(theirs: dict[str, object]) -> None:
    assert not contains({"resourceType": "Patient", "name": [{"family": "Doe"}], "x": 1}, theirs)


def test_report_status_follows_the_review() -> None:
    """Unsigned: preliminary, whatever the server holds; then what the signatures say."""
    assert report_status(RESULT) == "preliminary"
    final = replace(RESULT, review=ReviewInfo(status="final", state="accepted"))
    assert report_status(final) == "final"
    amended = replace(RESULT, review=ReviewInfo(status="amended", state="edited"))
    assert report_status(amended) == "amended"


def test_backoff_doubles_and_is_capped() -> None:
    assert [tasks.backoff_s(n) for n in range(4)] == [10, 20, 40, 80]
    assert tasks.backoff_s(20) == tasks.BACKOFF_MAX_S


def test_lag() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert lag_seconds(now=now, oldest_request=None) == 0.0
    assert lag_seconds(now=now, oldest_request=now - timedelta(minutes=2)) == 120.0
    assert lag_seconds(now=now, oldest_request=now + timedelta(seconds=5)) == 0.0
