"""Test helper (wiring): the machine's tools a test drives, or a failure saying how to get them.

A missing tool is a broken test machine, not a reason to pass quietly: `scripts/bootstrap.sh test`
installs every one of them (Debian packages), so a test that needs one fails and says so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def require_tool(name: str, package: str) -> str:
    """The path of the command `name`, or a test failure naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is needed: scripts/bootstrap.sh test installs Debian's {package}")
    return path


def require_file(path: Path, package: str) -> Path:
    """`path`, or a test failure naming the Debian package that ships it."""
    if not path.exists():
        pytest.fail(f"{path} is needed: scripts/bootstrap.sh test installs Debian's {package}")
    return path
