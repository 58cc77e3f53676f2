"""Wiring: `python -m stack backup|restore DIR` — the native run's state, one command each.

What holds state under ``var/``: Orthanc's storage and SQLite index, the AI job store
(``var/ai``: change-log cursor and outbox), the portal's SQLite database (users, reports, jobs,
audit), the stack's own Redis (queued jobs), the generated secrets the data was written with, and
the registered modalities. A backup is a cold copy: every program is stopped for the time it
takes (their files are then closed and consistent with each other), archived, and started again.
`restore` stops the stack, replaces those paths with the archive's and starts it (`up`).
Orthanc on PostgreSQL or the portal on MySQL keep their data in those servers: back those up with
their own tools (`pg_dump`, `mysqldump`); the command refuses rather than copy half the state.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import time
from pathlib import Path

from stack.config import ConfigError, StackConfig
from stack.supervisor import Supervisor
from stack.var_files import say

# Relative to var/: every path with state (missing ones are skipped: e.g. an external Redis).
STATE_PATHS = (
    "orthanc/storage",
    "orthanc/index",
    "ai",
    "portal/db.sqlite3",
    # SQLite in WAL mode: committed transactions not yet checkpointed live in the -wal file.
    "portal/db.sqlite3-wal",
    "portal/db.sqlite3-shm",
    "redis",
    "secrets.env",
    "modalities.json",
)
ARCHIVE = "neuronova-native.tar.gz"
MANIFEST = "neuronova-backup.json"


def _check_local(config: StackConfig) -> None:
    if config.orthanc_postgres is not None:
        raise ConfigError("Orthanc's index is in PostgreSQL: back it up with pg_dump as well")
    if not config.database_url.startswith("sqlite:"):
        raise ConfigError("the portal's database is not SQLite: back it up with its own tools")


def backup(config: StackConfig, target: Path) -> Path:
    """Stop every program, archive the state paths into ``target``, start them again."""
    _check_local(config)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    if any(target.iterdir()):
        raise ConfigError(f"{target} is not empty: a backup goes into a folder of its own")
    supervisor = Supervisor(config)
    running = supervisor.running()
    started = time.monotonic()
    if running:
        supervisor.stop_all()
    try:
        present = [p for p in STATE_PATHS if (config.var_dir / p).exists()]
        archive = target / ARCHIVE
        with tarfile.open(archive, "w:gz") as tar:
            for relative in present:
                tar.add(config.var_dir / relative, arcname=relative)
        archive.chmod(0o600)
        manifest = {"paths": present, "time": time.time(), "var": str(config.var_dir)}
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    finally:
        if running:
            supervisor.start_all()
    pause = "programs stopped meanwhile" if running else "stack not running"
    say(f"backup in {target} ({time.monotonic() - started:.0f} s, {pause})")
    return target


def restore(config: StackConfig, source: Path) -> None:
    """Stop the stack and replace its state with the backup's; `up` starts it afterwards."""
    _check_local(config)
    manifest = json.loads((source / MANIFEST).read_text())
    supervisor = Supervisor(config)
    if supervisor.pid() is not None and not supervisor.shutdown():
        raise ConfigError("the stack did not stop; nothing was restored")
    for relative in STATE_PATHS:
        path = config.var_dir / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    with tarfile.open(source / ARCHIVE, "r:gz") as tar:
        # Debian 12's Python 3.11.2 predates extraction filters: refuse what would land outside.
        for member in tar.getmembers():
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or member.issym() or member.islnk():
                raise ConfigError(f"refusing {member.name!r} in {source / ARCHIVE}")
        tar.extractall(config.var_dir)  # noqa: S202 - every member checked above
    say(f"restored {', '.join(manifest['paths'])} into {config.var_dir}")
