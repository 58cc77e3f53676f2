"""Pure: the signature every NeuroNova Celery message carries, and its check.

Redis's password lets a client queue any message; the task key (``NEURONOVA_TASK_KEY``, generated
by ``make up`` into var/secrets.env and compose's .env) is what makes a message ours. A producer
adds ``nn_signature`` to the task's keyword arguments: an HMAC-SHA256 under the key over the task
name and its arguments in canonical JSON, so neither can be changed nor the signature moved to
another task. A consumer recomputes it before the task runs and refuses the message otherwise
(docs/scaling.md, "Signed messages"). Standard library only, like the rest of the contracts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

SIGNATURE: Final = "nn_signature"
KEY_ENV: Final = "NEURONOVA_TASK_KEY"
_VERSION: Final = "v1"
MIN_KEY_LENGTH: Final = 32


def _canonical(task: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> bytes:
    unsigned = {name: value for name, value in kwargs.items() if name != SIGNATURE}
    text = json.dumps(
        {"task": task, "args": list(args), "kwargs": unsigned},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return text.encode()


def signature(key: str, task: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The signature of one message; its arguments must be JSON values (the broker's format)."""
    if not key:
        raise ValueError(f"no task key ({KEY_ENV}): a message cannot be signed")
    mac = hmac.new(key.encode(), _canonical(task, args, kwargs), hashlib.sha256)
    return f"{_VERSION}:{mac.hexdigest()}"


def signed(key: str, task: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` with their signature added (a task called by keyword, as all of ours are)."""
    return {**kwargs, SIGNATURE: signature(key, task, (), kwargs)}


def refusal(key: str, task: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
    """Why this received message must not run, or None when its signature is right."""
    if not key:
        return f"this worker has no task key ({KEY_ENV})"
    given = kwargs.get(SIGNATURE)
    if not isinstance(given, str) or not given:
        return "unsigned"
    try:
        expected = signature(key, task, args, kwargs)
    except (TypeError, ValueError):
        return "arguments are not JSON values"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "bad signature"
    return None


def publish_hook(key: str) -> Any:  # noqa: ANN401 - a Celery signal receiver
    """A ``celery.signals.before_task_publish`` receiver that signs every message this process
    sends (calls, retries, beat, re-sends), in place, just before it is serialised. A message
    signed already (by its sender, or a retry carrying its first signature) is left as it is."""

    def sign_outgoing(
        body: Any = None,  # noqa: ANN401 - Celery's protocol 2 body: (args, kwargs, embed)
        headers: Mapping[str, Any] | None = None,
        **_: Any,  # noqa: ANN401
    ) -> None:
        if not key or headers is None or not isinstance(body, tuple | list) or len(body) < 2:
            return
        args, kwargs = body[0], body[1]
        if isinstance(kwargs, dict) and SIGNATURE not in kwargs:
            kwargs[SIGNATURE] = signature(key, str(headers.get("task", "")), args, kwargs)

    return sign_outgoing


class SignedCall:
    """Mixin for a Celery ``Task`` class (``class T(SignedCall, Task)``): a message runs only with
    a right signature; a refused one is logged by ``refused`` and ends as "refused" (acknowledged,
    never retried). A direct call in-process (``task(...)``, tests) carries no message to check."""

    task_key: str = ""
    # Celery checks a call's arguments against the task's own signature before sending or running
    # it eagerly; ``nn_signature`` is not one of them (it is taken off before ``run``).
    typing = False
    name: str
    request: Any
    run: Any

    def refused(self, reason: str, kwargs: Mapping[str, Any]) -> None:
        """Count and log it (each app overrides this)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - any task's result
        if self.request.called_directly:
            return super().__call__(*args, **kwargs)  # type: ignore[misc]
        # Run by a worker (or eagerly): Celery's tracer has pushed this message's request and
        # calls a custom __call__ in place of run, so run is called here, under that request.
        reason = refusal(self.task_key, self.name, args, kwargs)
        if reason is not None:
            self.refused(reason, kwargs)
            return "refused"
        kwargs.pop(SIGNATURE, None)
        return self.run(*args, **kwargs)
