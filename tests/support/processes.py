"""Test helper (wiring): stopping a process a test started in its own session (process group).

Workers are started with ``start_new_session=True`` so that a signal reaches the Celery parent and
its children together; this is the one way the suites stop them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to ``proc``'s process group and wait (SIGKILL after 30 s); no-op when gone."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
