"""Wiring: `python -m stack compose backup|restore DIR` — the compose run's data, one command each.

A backup is every volume that holds state, archived while the services are stopped (a cold copy:
PostgreSQL's files, Orthanc's storage, the broker's append-only file and the portal's folder are
consistent with each other), then the services start again. It covers Orthanc's storage and its
index (PostgreSQL, which also holds the AI job store and the registered modalities), the portal's
database (the same PostgreSQL: users, reports, jobs, audit), the queued jobs (Redis), the env
file whose secrets the data was written with and the modality list (``modalities.json``: the
hosts the DICOM entry lets in; the replicas' copy is in the index). `restore` deletes the
project's volumes, recreates them from the archives and starts the project. The archives hold
patient data and secrets: keep them as the PACS itself is kept (docs/deploy.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from stack import modalities
from stack.compose import Compose, compose_dir
from stack.config import ConfigError
from stack.var_files import say

# Every volume with state; portal-static is rebuilt by collectstatic at each start.
DATA_VOLUMES = ("postgres-data", "orthanc-storage", "orthanc-var", "redis-data", "portal-var")
# Any image of the project that has tar: the Debian base every image starts from.
TAR_IMAGE = "debian:bookworm-slim"
MANIFEST = "neuronova-backup.json"


def _tar(volume: str, folder: Path, *tar_args: str, backing_up: bool) -> None:
    """tar in a throw-away container: the volume read-only when backing up, the folder otherwise."""
    mode = ":ro" if backing_up else ""
    subprocess.run(  # noqa: S603
        [  # noqa: S607
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            f"{volume}:/volume{mode}",
            "-v",
            f"{folder.resolve()}:/backup{'' if backing_up else ':ro'}",
            TAR_IMAGE,
            "tar",
            "-C",
            "/volume",
            *tar_args,
        ],
        check=True,
    )


def backup(project: Compose, target: Path) -> Path:
    """Stop, archive every data volume and the env file into ``target``, start again."""
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    if any(target.iterdir()):
        raise ConfigError(f"{target} is not empty: a backup goes into a folder of its own")
    started = time.monotonic()
    project.run("stop")
    try:
        for name in DATA_VOLUMES:
            archive = f"/backup/{name}.tar.gz"
            _tar(f"{project.project}_{name}", target, "-czf", archive, ".", backing_up=True)
            say(f"backed up {name}")
        shutil.copy2(project.env_file, target / "compose.env")
        (target / "compose.env").chmod(0o600)
        listed = modalities.path(compose_dir(project.var_dir))
        if listed.exists():
            shutil.copy2(listed, target / modalities.FILE_NAME)
        manifest = {"project": project.project, "volumes": list(DATA_VOLUMES), "time": time.time()}
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    finally:
        project.run("start")
    say(f"backup in {target} ({time.monotonic() - started:.0f} s, services stopped meanwhile)")
    return target


def restore(project: Compose, source: Path, *, timeout: float) -> float:
    """Replace the project's data with the backup in ``source``; seconds until healthy again."""
    manifest = json.loads((source / MANIFEST).read_text())
    missing = [n for n in manifest["volumes"] if not (source / f"{n}.tar.gz").is_file()]
    if missing:
        raise ConfigError(f"{source} lacks {missing}: not a complete backup")
    project.down(volumes=True)
    env_file = project.env_file
    env_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "compose.env", env_file)
    env_file.chmod(0o600)
    if (source / modalities.FILE_NAME).exists():
        shutil.copy2(source / modalities.FILE_NAME, modalities.path(env_file.parent))
    for name in manifest["volumes"]:
        volume = f"{project.project}_{name}"
        subprocess.run(  # noqa: S603
            [  # noqa: S607
                "docker",
                "volume",
                "create",
                "--label",
                f"com.docker.compose.project={project.project}",
                "--label",
                f"com.docker.compose.volume={name}",
                volume,
            ],
            check=True,
            capture_output=True,
        )
        _tar(volume, source, "-xzf", f"/backup/{name}.tar.gz", backing_up=False)
        say(f"restored {name}")
    return project.up(timeout)
