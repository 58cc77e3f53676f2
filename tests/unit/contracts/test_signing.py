"""The Celery message signature: what it binds, what a consumer refuses, and the task class."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery, Task
from neuronova_contracts import signing
from neuronova_contracts.signing import SIGNATURE, refusal, signed

KEY = "k" * 40
Body = tuple[list[Any], dict[str, Any], dict[str, Any]]
EVENT = {"job_id": "s:m:1", "state": "done", "volumes_ml": {"Enhancing tumour": 12.5}, "at": "t"}


def test_a_signed_message_passes_and_any_change_is_refused() -> None:
    kwargs = signed(KEY, "neuronova.portal.job_event", EVENT)
    assert refusal(KEY, "neuronova.portal.job_event", (), kwargs) is None
    assert refusal(KEY, "neuronova.portal.job_event", (), EVENT) == "unsigned"
    tampered = {**kwargs, "volumes_ml": {"Enhancing tumour": 999.0}}
    assert refusal(KEY, "neuronova.portal.job_event", (), tampered) == "bad signature"
    added = {**kwargs, "reason": "x"}
    assert refusal(KEY, "neuronova.portal.job_event", (), added) == "bad signature"
    # the same arguments under another task's name (the name travels outside the body)
    assert refusal(KEY, "neuronova.portal.study_stable", (), kwargs) == "bad signature"
    assert refusal("o" * 40, "neuronova.portal.job_event", (), kwargs) == "bad signature"
    assert refusal("", "neuronova.portal.job_event", (), kwargs) is not None  # no key: nothing runs


def test_the_signature_survives_the_brokers_json() -> None:
    """Signed before serialisation, checked after: key order and tuples do not matter."""
    kwargs = signed(KEY, "t", {"b": (1, 2.5), "a": {"z": None, "y": "é"}})
    received = {"a": {"y": "é", "z": None}, "b": [1, 2.5], SIGNATURE: kwargs[SIGNATURE]}
    assert refusal(KEY, "t", [], received) is None


def test_no_key_signs_nothing() -> None:
    with pytest.raises(ValueError, match="NEURONOVA_TASK_KEY"):
        signed("", "t", {})


def _app(key: str) -> tuple[Celery[Any], list[str], list[dict[str, Any]]]:
    refused: list[str] = []
    ran: list[dict[str, Any]] = []

    class Signed(signing.SignedCall, Task):  # type: ignore[type-arg]
        task_key = key

        def refused(self, reason: str, kwargs: Any) -> None:
            refused.append(reason)

    app = Celery("signing-test", task_cls=Signed, set_as_current=False)

    @app.task(name="t", bind=True)
    def task(self: Task, *, value: int) -> int:  # type: ignore[type-arg]
        ran.append({"value": value, "retries": self.request.retries, "id": self.request.id})
        return value * 2

    return app, refused, ran


def test_the_task_class_runs_signed_messages_only() -> None:
    app, refused, ran = _app(KEY)
    task = app.tasks["t"]
    assert task.apply(kwargs={"value": 2}).get() == "refused"
    assert task.apply(kwargs={**signed("o" * 40, "t", {"value": 2})}).get() == "refused"
    assert refused == ["unsigned", "bad signature"]
    assert ran == []
    assert task.apply(kwargs=signed(KEY, "t", {"value": 2}), task_id="x").get() == 4
    assert ran == [{"value": 2, "retries": 0, "id": "x"}]  # run under the message's own request
    assert task(value=3) == 6  # a direct call in-process carries no message


def test_the_publish_hook_signs_what_is_sent_unsigned_only() -> None:
    hook = signing.publish_hook(KEY)
    body: Body = ([], {"value": 1}, {})
    hook(body=body, headers={"task": "t"})
    assert refusal(KEY, "t", [], body[1]) is None
    mine: tuple[list[Any], dict[str, Any], dict[str, Any]] = (
        [],
        signed("o" * 40, "t", {"value": 1}),
        {},
    )
    hook(body=mine, headers={"task": "t"})
    assert mine[1][SIGNATURE] == signed("o" * 40, "t", {"value": 1})[SIGNATURE]
