"""Adapter: the supervisord that runs the native stack, driven through supervisorctl."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from stack.config import StackConfig


class Supervisor:
    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self._conf = config.var_dir / "supervisord.conf"
        self._bin = config.venv / "bin"

    def _ctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - fixed executable, our own arguments
            [str(self._bin / "supervisorctl"), "-c", str(self._conf), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def pid(self) -> int | None:
        pidfile = self._config.var_dir / "run" / "supervisord.pid"
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def running(self) -> bool:
        return self.pid() is not None and self._ctl("pid").returncode == 0

    def start(self) -> None:
        # Programs inherit supervisord's environment on top of their own `environment=`: keep
        # the caller's Python/Django settings (a test run, an activated venv) out of them.
        inherited = {
            key: value
            for key, value in os.environ.items()
            if key not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV"}
        }
        subprocess.run(  # noqa: S603
            [str(self._bin / "supervisord"), "-c", str(self._conf)],
            check=True,
            timeout=60,
            env=inherited,
        )

    def update(self) -> str:
        """Apply a changed config: only programs whose section changed are restarted."""
        self._ctl("reread")
        return self._ctl("update").stdout.strip()

    def start_all(self) -> None:
        self._ctl("start", "all")

    def stop_all(self) -> None:
        """Every program stopped, supervisord itself still running."""
        self._ctl("stop", "all")

    def status(self) -> dict[str, str]:
        states: dict[str, str] = {}
        for line in self._ctl("status").stdout.splitlines():
            parts = line.split(None, 2)
            if len(parts) >= 2:
                states[parts[0]] = parts[1]
        return states

    def status_text(self) -> str:
        return self._ctl("status").stdout

    def stop_program(self, name: str) -> None:
        self._ctl("stop", name, check=True)

    def start_program(self, name: str) -> None:
        self._ctl("start", name, check=True)

    def shutdown(self, timeout: float = 90.0) -> bool:
        """Stop every program, then supervisord itself; True once its process is gone."""
        pid = self.pid()
        if pid is None:
            return True
        self._ctl("shutdown")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return True
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        return False

    def log_path(self, name: str) -> Path:
        return self._config.log_dir / f"{name}.log"
