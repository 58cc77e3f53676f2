"""Adapter: the Redis the stack's Celery apps use — is one there, does it demand a password?

Celery trusts every message on its broker (a `job_event` rewrites a study's AI report), so the
stack only runs on a Redis that refuses clients without the password: its own (rendered
`var/redis/redis.conf` with `requirepass`), or an external one that answers NOAUTH to an
anonymous PING and accepts the stack's password.
"""

from __future__ import annotations

import socket
from enum import Enum

from stack.config import ConfigError, StackConfig


class RedisState(Enum):
    ABSENT = "nothing answers"
    OPEN = "answers without a password"
    PROTECTED = "asks for a password"


def _exchange(config: StackConfig, *commands: bytes) -> list[bytes]:
    """One RESP reply line per command, sent over one connection."""
    with socket.create_connection((config.redis_host, config.redis_port), timeout=1.0) as conn:
        replies = []
        stream = conn.makefile("rb")
        for command in commands:
            conn.sendall(command)
            replies.append(stream.readline())
        return replies


def state(config: StackConfig) -> RedisState:
    try:
        (reply,) = _exchange(config, b"PING\r\n")
    except OSError:
        return RedisState.ABSENT
    if reply.startswith(b"+PONG"):
        return RedisState.OPEN
    return RedisState.PROTECTED if reply else RedisState.ABSENT


def _auth_command(password: str) -> bytes:
    data = password.encode()
    return b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(data), data)


def check_external(config: StackConfig) -> None:
    """Refuse an external Redis that anyone may use, or that refuses the stack's password."""
    where = f"the Redis at {config.redis_url_shown}"
    found = state(config)
    if found is RedisState.OPEN:
        raise ConfigError(
            f"{where} answers without a password: anyone who reaches it could forge Celery "
            "jobs. Give it `requirepass` and put the password in NEURONOVA_REDIS_URL or "
            "REDIS_PASSWORD, or let the stack run its own (unset NEURONOVA_REDIS_URL)"
        )
    if found is RedisState.ABSENT:
        raise ConfigError(f"{where} does not answer")
    (reply,) = _exchange(config, _auth_command(config.redis_password))
    if not reply.startswith(b"+OK"):
        raise ConfigError(f"{where} refuses the stack's password (NEURONOVA_REDIS_URL)")
