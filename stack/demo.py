"""Wiring: `python -m stack demo` — what `make demo` runs against the running native stack.

Sends the synthetic brain MR study by C-STORE as a registered modality would (with `--visits`,
the patient's follow-up studies, printing each visit's known tumour volume), then (unless
`--no-wait`) waits for each study's AI result in the portal and prints the volume of every label.
Each step is a separate process with the environment its deployable gets under supervisord.
"""

from __future__ import annotations

import re
import subprocess
import sys

from stack import render
from stack.config import StackConfig

DEMO_AET = "NN-DEMO"
_SENT = re.compile(r"sent study (\S+) \((\d+) instances, 0 failed\)")


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def send(
    config: StackConfig,
    *,
    small: bool,
    seed: int | None,
    preset: str | None = None,
    visits: str | None = None,
) -> list[str] | None:
    """C-STORE the demo study (or its visits) to the stack's Orthanc; the StudyInstanceUIDs,
    None on failure."""
    command = [
        str(config.venv / "bin" / "python"),
        "-m",
        "neuronova_lab.synthetic.demo",
        *("--host", "127.0.0.1", "--port", str(config.orthanc_dicom_port)),
        *("--aet", config.orthanc_aet, "--calling-aet", DEMO_AET),
        *(["--small"] if small else []),
        *(["--preset", preset] if preset else []),
        *(["--seed", str(seed)] if seed is not None else []),
        *(["--visits", visits] if visits else []),
    ]
    env = {**config.service_environment(), "PYTHONPATH": render.python_path(config, "lab")}
    what = "follow-up visits of the demo patient" if visits else "demo brain MR study"
    say(f"generating the {what} and sending it to {config.orthanc_aet} by C-STORE")
    result = subprocess.run(  # noqa: S603 - our venv's python, our arguments
        command, env=env, cwd=config.root, capture_output=True, text=True, check=False
    )
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sent = [match.group(1) for match in _SENT.finditer(result.stdout)]
    return sent if result.returncode == 0 and sent else None


def wait_for_result(config: StackConfig, study_uid: str, *, timeout_s: float) -> int:
    """Print the portal's progress lines and, once done, the volumes; the command's exit code."""
    manage = config.root / "django-portal" / "manage.py"
    command = [str(config.venv / "bin" / "python"), str(manage), "ai_result", study_uid]
    command += ["--wait", str(timeout_s)]
    return subprocess.run(  # noqa: S603
        command, env=render.manage_environment(config), cwd=config.root, check=False
    ).returncode


def run(
    config: StackConfig,
    *,
    wait: bool,
    small: bool,
    seed: int | None,
    timeout_s: float,
    preset: str | None = None,
    visits: str | None = None,
) -> int:
    study_uids = send(config, small=small, seed=seed, preset=preset, visits=visits)
    if study_uids is None:
        say("sending failed (is the stack up? `make status`)")
        return 1
    if not wait:
        say(f"sent {', '.join(study_uids)}; AI results appear in the portal in a minute or two")
        return 0
    worst = 0
    for study_uid in study_uids:
        say(f"waiting for the AI result of {study_uid}")
        worst = max(worst, wait_for_result(config, study_uid, timeout_s=timeout_s))
    return worst
