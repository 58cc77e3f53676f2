"""An older release's secrets file gains the names added since (the task key), keeps the rest."""

from __future__ import annotations

import stat
from pathlib import Path

from stack import secrets_file


def test_an_older_secrets_file_gains_the_task_key_and_keeps_its_values(tmp_path: Path) -> None:
    older = {name: f"old-{name.lower()}" for name in secrets_file.NAMES}
    del older["NEURONOVA_TASK_KEY"]  # a release before signed Celery messages
    (tmp_path / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in older.items()))

    values = secrets_file.ensure(tmp_path)

    assert {name: values[name] for name in older} == older
    assert len(values["NEURONOVA_TASK_KEY"]) >= 32
    assert secrets_file.read(tmp_path) == values  # written, and read back the same
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600
    assert secrets_file.ensure(tmp_path) == values  # drawn once, not on every `up`
