"""Adapter (Celery over Redis): publish the outbox; a message stays until the broker took it."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from neuronova_contracts.signing import signed

from neuronova_plugin.ai.store import JobStore, Message

PublishFn = Callable[[Message], None]


class CeleryPublisher:
    """Sends each message signed with the deployment's task key (NeuroNova.TaskKey): the portal
    and inference workers run no message without it (docs/scaling.md)."""

    def __init__(self, redis_url: str, task_key: str) -> None:
        self.task_key = task_key
        self.app = Celery("neuronova_plugin", broker=redis_url, fixups=[])  # not a Django process
        self.app.conf.update(
            broker_connection_timeout=3,
            broker_connection_retry=False,
            broker_connection_max_retries=0,
            broker_transport_options={"socket_connect_timeout": 3, "socket_timeout": 5},
        )

    def publish(self, message: Message) -> None:
        self.app.send_task(
            message.task,
            kwargs=signed(self.task_key, message.task, message.kwargs),
            queue=message.queue,
            task_id=message.key,
            retry=False,
        )


def drain(store: JobStore, publish: PublishFn, limit: int = 100) -> tuple[int, str]:
    """Publish unsent messages in order; stop at the first failure (broker down).

    Returns (how many were sent, the error that stopped the drain or "").
    """
    sent = 0
    for out in store.unsent(limit):
        try:
            publish(out.message)
        except Exception as exc:  # noqa: BLE001 - kombu/redis raise many types; all mean "later"
            store.mark_failed(out.id, f"{type(exc).__name__}: {exc}")
            return sent, f"{type(exc).__name__}: {exc}"
        store.mark_sent(out.id)
        sent += 1
    return sent, ""
