"""Orthanc's own integration suite (orthanc-tests, main and DICOMweb) with and without our plugins.

tests/upstream/orthanc_suite.py runs both suites against the root's Orthanc twice (plain, and with
the Python and HTJ2K codec plugins) and fails on any test that passes plain and fails with our
plugins, apart from the intended differences named in docs/plugin.md. A machine without the
suite's checkout or without Python 2.7 fails here with what to provide: never a silent pass.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(3600)
def test_no_orthanc_test_breaks_with_our_plugins() -> None:
    # Not under /tmp: each run gets a private /tmp (tests/upstream/orthanc_suite.py).
    results = REPO / "var" / "upstream" / "results" / f"pytest-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-m", "tests.upstream.orthanc_suite", "--results", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3500,
        check=False,
    )
    print(result.stdout)  # the per-suite summary and every difference, in pytest's report
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
