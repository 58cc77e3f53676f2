"""Adapter: who may enter what under var/ (file modes and owners).

Everything the stack and its programs write is private to root (umask 077 here and in
supervisord). The one exception is nginx: its workers run as `nobody:nogroup` and must reach the
web roots, Django admin's static files and their own temporary folders, so var/ and the folders
on that path are 0710 with group `nogroup` (enter, not list) and nothing else is open to them.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from stack.config import StackConfig
from stack.render import NGINX_GROUP, NGINX_USER

PRIVATE_DIR = stat.S_IRWXU  # 0700
PASSAGE = stat.S_IRWXU | stat.S_IXGRP  # 0710: nginx's group may pass through, not list
NGINX_TMP = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def _passage(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    shutil.chown(path, group=NGINX_GROUP)
    path.chmod(PASSAGE)


def apply(config: StackConfig) -> None:
    """Set the modes on every folder the stack owns; idempotent, cheap (no recursive walk).

    Folders a previous version left open are closed here; files inside a 0700 folder are out of
    other users' reach whatever their own mode.
    """
    var = config.var_dir
    for folder in (var, var / "nginx", var / "nginx" / "tmp", var / "portal"):
        _passage(folder)
    for sub in ("run", "log", "orthanc", "redis", "prometheus"):
        if (var / sub).is_dir():
            (var / sub).chmod(PRIVATE_DIR)
    www = var / "nginx" / "www"
    www.mkdir(parents=True, exist_ok=True)
    www.chmod(0o755)  # two symlinks into the repository's public web builds
    for name in NGINX_TMP:
        tmp = var / "nginx" / "tmp" / name
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.chown(tmp, user=NGINX_USER, group=NGINX_GROUP)
        tmp.chmod(PRIVATE_DIR)  # upload bodies in flight: nginx's workers only
    for secret in (var / "secrets.env", var / "stack.env", var / "supervisord.conf"):
        if secret.exists():
            secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
    database = var / "portal" / "db.sqlite3"
    for path in database.parent.glob(database.name + "*"):
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
