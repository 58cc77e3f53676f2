"""bench/link.py's kernel link shapes real TCP traffic on the port it is given, both ways, leaves
every other port alone and always takes its qdisc away.

Each scenario runs in a fresh network namespace (tests/integration/bench/transfer.py under
``unshare --net``): the machine's own loopback is never shaped by this test. Durations are
asserted only as properties of the shaper (2 MB through an 8 Mbit/s class cannot arrive in
under a second; loopback moves it in milliseconds), never as performance targets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.bench.transfer import SIZE

ROOT = Path(__file__).resolve().parents[3]


def run_in_namespace(scenario: str) -> dict[str, object]:
    missing = [tool for tool in ("tc", "ip", "unshare") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the kernel link needs {', '.join(missing)} (iproute2, util-linux)")
    if os.geteuid() != 0:
        pytest.skip("shaping a device and making a network namespace need root")
    done = subprocess.run(
        [
            "unshare",
            "--net",
            "--",
            sys.executable,
            "-m",
            "tests.integration.bench.transfer",
            scenario,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_port_is_shaped_both_ways_and_the_qdisc_goes() -> None:
    seen = run_in_namespace("shaped")
    assert "htb 4e4e:" in str(seen["during"])
    # 2 MB at 8 Mbit/s is 2 s; unshaped loopback moves it in about a millisecond.
    assert float(str(seen["down_s"])) > 1.0
    assert float(str(seen["up_s"])) > 1.0
    counted = seen["class_bytes"]
    assert isinstance(counted, dict)
    assert counted["4e4e:1"] >= SIZE  # nginx -> browser went through the down class
    assert counted["4e4e:2"] >= SIZE  # browser -> nginx through the up class
    # Another port's 2 MB did not pass either class (sent directly, unshaped).
    assert seen["class_bytes_after_other_port"] == counted
    assert str(seen["after"]).startswith("qdisc noqueue")


def test_the_qdisc_goes_on_ctrl_c() -> None:
    seen = run_in_namespace("interrupted")
    assert "htb 4e4e:" in str(seen["during"])
    assert seen["raised"] is True
    assert str(seen["after"]).startswith("qdisc noqueue")


def test_a_qdisc_already_there_is_left_alone() -> None:
    seen = run_in_namespace("occupied")
    assert "already has a root qdisc" in str(seen["error"])
    assert str(seen["after"]).startswith("qdisc tbf 1:")
