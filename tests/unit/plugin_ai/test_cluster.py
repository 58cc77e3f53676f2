"""The change log read by one leader of several replicas: holes in the sequence, stability
decided on the shared index's LastUpdate, and the job store's leader-only writes."""

from pathlib import Path
from typing import Any

import pytest
from neuronova_contracts.manifest import parse_manifest
from neuronova_plugin.ai.changes import ChangeTracker, is_quiet, poll_changes, sweep_pending
from neuronova_plugin.ai.database import NotLeaderError, SqliteDatabase
from neuronova_plugin.ai.store import JobStore, Message
from neuronova_plugin.config import plugin_config, postgres_conninfo

from tests.support.synthetic import manifest_raw
from tests.unit.plugin_ai.test_changes_routes import _change, _study_host

MODEL = parse_manifest(manifest_raw())
SEGMENT = "neuronova.inference.segment_study"
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def _page(host: Any, since: int, *changes: dict[str, Any], done: bool = True) -> None:
    last = max((c["Seq"] for c in changes), default=since)
    host.get[f"/changes?since={since}&limit=100"] = {
        "Changes": list(changes),
        "Done": done,
        "Last": last,
    }


def test_cursor_waits_at_a_hole_until_grace_but_later_changes_are_handled_at_once(
    tmp_path: Path,
) -> None:
    host, store = _study_host(), JobStore(tmp_path / "j.sqlite")
    tracker, clock = ChangeTracker(grace_s=30), [NOW]
    # Seq 2 belongs to a transaction that has not committed yet.
    _page(host, 0, _change(1, "NewStudy"), _change(3, "StableStudy"))
    poll_changes(host, store, MODEL, tracker=tracker, clock=lambda: clock[0])
    assert store.cursor() == 1
    assert [m.key for m in store.messages(SEGMENT)] == [f"S1:{MODEL.model_id}:{MODEL.version}"]
    # Read again from the cursor: seq 3 is not handled twice, the hole still holds the cursor.
    _page(host, 1, _change(3, "StableStudy"))
    clock[0] += 10
    poll_changes(host, store, MODEL, tracker=tracker, clock=lambda: clock[0])
    assert store.cursor() == 1
    assert store.counts()["messages"] == 4  # arrived, stable, job, queued
    # Seq 2 commits late: handled, and the cursor moves past both.
    _page(host, 1, _change(2, "StableStudy", study="S2"), _change(3, "StableStudy"))
    host.get["/studies/S2"] = {"IsStable": True, "MainDicomTags": {}}
    host.get["/studies/S2/series"] = []
    poll_changes(host, store, MODEL, tracker=tracker, clock=lambda: clock[0])
    assert store.cursor() == 3


def test_a_hole_older_than_grace_is_a_rolled_back_transaction_and_is_passed(
    tmp_path: Path,
) -> None:
    host, store = _study_host(), JobStore(tmp_path / "j.sqlite")
    tracker, clock = ChangeTracker(grace_s=30), [NOW]
    _page(host, 0, _change(1, "NewStudy"), _change(3, "StableStudy"))
    poll_changes(host, store, MODEL, tracker=tracker, clock=lambda: clock[0])
    _page(host, 1, _change(3, "StableStudy"))
    clock[0] += 31
    poll_changes(host, store, MODEL, tracker=tracker, clock=lambda: clock[0])
    assert store.cursor() == 3
    assert tracker.handled == set()
    assert tracker.holes == {}


def test_next_pages_are_read_while_the_cursor_waits_at_a_hole(tmp_path: Path) -> None:
    host, store = _study_host(), JobStore(tmp_path / "j.sqlite")
    _page(host, 0, _change(2, "NewStudy"), done=False)
    _page(host, 2, _change(3, "StableStudy"))
    poll_changes(host, store, MODEL, tracker=ChangeTracker(grace_s=30), clock=lambda: NOW)
    assert store.cursor() == 0
    assert len(store.messages(SEGMENT)) == 1


def test_stable_here_while_another_replica_still_stores_waits_for_the_sweep(
    tmp_path: Path,
) -> None:
    host, store = _study_host(), JobStore(tmp_path / "j.sqlite")
    # The other replica stored an instance 4 s ago; StableAge is 10.
    host.get["/studies/S1"]["LastUpdate"] = "20270115T075956"
    _page(host, 0, _change(1, "NewStudy"), _change(2, "StableStudy"))
    poll_changes(host, store, MODEL, stable_age_s=10, clock=lambda: NOW)
    assert store.messages(SEGMENT) == []
    assert store.counts()["pending"] == 1
    # Still storing: the sweep waits too.
    assert sweep_pending(host, store, MODEL, 0, lambda: NOW + 5, stable_age_s=10) == 0
    # Quiet everywhere for StableAge: one job.
    assert sweep_pending(host, store, MODEL, 0, lambda: NOW + 6, stable_age_s=10) == 1
    assert len(store.messages(SEGMENT)) == 1
    # The other replica's own StableStudy comes later: still one job.
    _page(host, 2, _change(3, "StableStudy"))
    poll_changes(host, store, MODEL, stable_age_s=10, clock=lambda: NOW + 20)
    assert len(store.messages(SEGMENT)) == 1


def test_quiet_needs_local_stability_and_a_last_update_stable_age_old() -> None:
    study = {"IsStable": True, "LastUpdate": "20270115T075950"}  # 10 s before NOW
    assert is_quiet(study, 10, NOW)
    assert not is_quiet(study, 11, NOW)
    assert not is_quiet({**study, "IsStable": False}, 10, NOW)
    assert is_quiet({"IsStable": True}, 10, NOW)  # no LastUpdate: this replica's word


class _Follower(SqliteDatabase):
    """A replica whose session does not hold the leader lock."""

    def lead(self) -> bool:
        return False

    @property
    def leading(self) -> bool:
        return False


def test_only_the_leader_moves_the_cursor_and_marks_messages(tmp_path: Path) -> None:
    store = JobStore(_Follower(tmp_path / "j.sqlite"))
    assert not store.lead()
    with pytest.raises(NotLeaderError):
        store.commit_changes(cursor=5, messages=[])
    assert store.enqueue([Message("k", "t", "q", {})]) == 1  # any replica may enqueue
    with pytest.raises(NotLeaderError):
        store.mark_sent(store.unsent()[0].id)
    assert store.cursor() == 0


def test_postgres_conninfo_from_orthancs_own_section() -> None:
    assert postgres_conninfo({}) == ""
    assert postgres_conninfo({"PostgreSQL": {"EnableIndex": False, "Host": "db"}}) == ""
    section = {
        "EnableIndex": True,
        "Host": "db",
        "Port": 5433,
        "Database": "orthanc",
        "Username": "orthanc",
        "Password": "it's",
    }
    assert postgres_conninfo({"PostgreSQL": section}) == (
        "host='db' port='5433' dbname='orthanc' user='orthanc' password='it\\'s' sslmode='prefer'"
    )
    uri = {"EnableIndex": True, "ConnectionUri": "postgresql://u:p@h/d"}
    assert postgres_conninfo({"PostgreSQL": uri}) == "postgresql://u:p@h/d"
    assert plugin_config({"PostgreSQL": uri}).ai.postgres == "postgresql://u:p@h/d"
