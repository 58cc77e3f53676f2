"""`make demo` on the native stack: the study goes in by C-STORE, the AI volumes come out."""

from __future__ import annotations

import json
import re

from tests.support.models import MODELS_DIR, SHIPPED_MODEL
from tests.support.stack import RunningStack

MANIFEST = MODELS_DIR / SHIPPED_MODEL / "manifest.json"


def test_demo_waits_for_the_ai_result_and_prints_the_volumes(stack: RunningStack) -> None:
    result = stack.cli("demo", "--small", "--seed", "19", "--timeout", "600", timeout=700)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    study_uid = re.search(r"sent study (\S+) \(\d+ instances, 0 failed\)", out)
    assert study_uid, out
    progress = [line for line in out.splitlines() if "AI result of study" in line]
    assert progress[-1].split(": ")[-1].startswith("done"), progress
    assert study_uid.group(1) in progress[-1]
    labels = [label["name"] for label in json.loads(MANIFEST.read_text())["labels"]]
    for label in labels:
        assert re.search(rf"^\s+{re.escape(label)}\s+\d+\.\d\d mL$", out, re.MULTILINE), out


def test_demo_no_wait_only_sends(stack: RunningStack) -> None:
    result = stack.cli("demo", "--small", "--seed", "20", "--no-wait", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sent study" in result.stdout
    assert "AI result of study" not in result.stdout
