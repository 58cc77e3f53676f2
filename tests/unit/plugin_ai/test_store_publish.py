from collections.abc import Iterator
from pathlib import Path

import pytest
from neuronova_plugin.ai.publisher import drain
from neuronova_plugin.ai.store import JobStore, Message


def _m(key: str, task: str = "t", queue: str = "q") -> Message:
    return Message(key, task, queue, {"job_id": key})


def test_cursor_and_messages_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ai" / "jobs.sqlite"
    store = JobStore(path)
    assert store.cursor() == 0
    assert store.commit_changes(cursor=17, messages=[_m("a"), _m("b")], new_pending=["s1"]) == 2
    store.close()
    again = JobStore(path)
    assert again.cursor() == 17
    assert [o.message.key for o in again.unsent()] == ["a", "b"]
    assert again.pending(older_than=1e12) == ["s1"]


def test_same_key_is_enqueued_once(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "j.sqlite")
    assert store.commit_changes(cursor=1, messages=[_m("job")]) == 1
    assert store.commit_changes(cursor=2, messages=[_m("job")]) == 0
    assert store.counts()["messages"] == 1
    assert store.cursor() == 2


def test_failed_transaction_moves_neither_cursor_nor_outbox(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "j.sqlite")

    def exploding() -> Iterator[Message]:
        yield _m("x")
        raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        store.commit_changes(cursor=9, messages=exploding())
    assert store.cursor() == 0
    assert store.counts()["messages"] == 0


def test_drain_stops_at_broker_failure_and_keeps_the_rest(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "j.sqlite")
    store.enqueue([_m("1"), _m("2"), _m("3")])
    published = []
    broker_up = {"ok": False}

    def publish(message: Message) -> None:
        if message.key == "2" and not broker_up["ok"]:
            raise ConnectionError("redis down")
        published.append(message.key)

    sent, error = drain(store, publish)
    assert (sent, published) == (1, ["1"])
    assert "redis down" in error
    assert [o.message.key for o in store.unsent()] == ["2", "3"]
    assert store.unsent()[0].attempts == 1
    broker_up["ok"] = True
    assert drain(store, publish) == (2, "")
    assert published == ["1", "2", "3"]
    assert store.unsent() == []


def test_reanalysis_counter_increments(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "j.sqlite")
    assert [store.next_reanalysis("s:m:1") for _ in range(3)] == [1, 2, 3]
