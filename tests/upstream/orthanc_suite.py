"""Wiring: Orthanc's own integration suite against our Orthanc, with our plugins and without.

    .venv/bin/python -m tests.upstream.orthanc_suite [--suite main|dicomweb]... [--results DIR]

Each suite of orthanc-tests at the tag of the shipped Orthanc (``main``: ``Tests/Run.py``, which
starts a second Orthanc as its DICOM peer; ``dicomweb``: ``Plugins/DicomWeb/Run.py``) runs twice,
both runs at once:

- ``plain``: the root's Orthanc with its DICOMweb plugin, on the suite's own configuration
  (``GenerateConfigurationForTests.py``, fed the root's default configuration instead of a
  download);
- ``ours``: the same plus our plugins (the Python plugin and the native HTJ2K codec when built)
  with their keys of the repository's orthanc.json (``PLUGIN_KEYS``; the AI block off: it needs a
  broker and acts minutes after ingest, never inside a suite's test).

Every run has its own network, mount, UTS and pid namespaces (``unshare``): the suite's fixed
ports (8042, 4242, 5000, 5001) and ``/tmp`` paths collide with nothing on the machine, and every
process it started dies with it. Outcomes per test go to ``<results>/<suite>-<variant>.json``
(orthanc logs beside them); the exit status is 0 only when no test passes ``plain`` and fails
``ours``, apart from the intended differences named in docs/plugin.md (``intended_differences``).
Without a suite checkout it says so and exits 2 (``tests.upstream.orthanc_tests.SuiteMissing``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack import orthanc_root
from tests.upstream import orthanc_tests

REPO = orthanc_tests.REPO_ROOT
PYTHON = sys.executable
RESULTS = REPO / "var" / "upstream" / "results"
SUITES = {"main": "Tests/Run.py", "dicomweb": "Plugins/DicomWeb/Run.py"}
# The main suite at this tag is Python 2 code (its README: "python2.7 ./Tests/Run.py"); it runs
# on a Python 2.7 (pyenv's here) with these packages, installed once into the cache.
PY2_REQUIREMENTS = (
    "httplib2==0.22.0",
    "pillow==6.2.2",
    "numpy==1.16.6",
    "pydicom==1.4.1",
    "easywebdav==1.2.0",
)
CACHE = Path(os.environ.get("NEURONOVA_CACHE", "/var/cache/neuronova"))
VARIANTS = ("plain", "ours")
# The keys of orthanc.json that configure our plugins (everything else is the suite's choice);
# "Dictionary" (the names of our private tags) is merged into the suite's own.
PLUGIN_KEYS = ("PythonScript", "PythonVerbose", "Python", "NeuroNova", "IngestTranscoding")
SUITE_TIMEOUT_S = 3600
WORK = Path("/tmp/neuronova-suite")  # inside the run's private /tmp
INTENDED_START = "<!-- intended-differences:start -->"
INTENDED_END = "<!-- intended-differences:end -->"


class PythonMissing(RuntimeError):  # noqa: N818 - a missing prerequisite, said loudly
    """No Python 2.7 for the main suite: the message says what to provide."""


def python2() -> str:
    """A Python 2.7: ``$NEURONOVA_PYTHON27``, ``python2.7`` on PATH, or pyenv's."""
    candidates = [os.environ.get("NEURONOVA_PYTHON27", ""), shutil.which("python2.7") or ""]
    candidates += sorted(map(str, Path.home().glob(".pyenv/versions/2.7*/bin/python")))
    probe = "import sys; sys.exit(sys.version_info[:2] != (2, 7))"
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", probe], capture_output=True, check=False).returncode:
            continue
        return candidate
    raise PythonMissing(
        "the main suite of orthanc-tests at this tag is Python 2 code and no Python 2.7 was "
        "found: set NEURONOVA_PYTHON27 to one (Debian 12 does not package it; pyenv builds it)"
    )


def python2_packages(interpreter: str) -> Path:
    """PY2_REQUIREMENTS installed once (pip --target) under the cache; the folder."""
    key = hashlib.sha256("\n".join((interpreter, *PY2_REQUIREMENTS)).encode()).hexdigest()[:16]
    target = CACHE / "orthanc-tests-py27" / key
    if (target / ".complete").is_file():
        return target
    staging = target.with_name(f".{key}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    pip = [interpreter, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    pip += ["--no-warn-script-location", "--prefer-binary", "--target", str(staging)]
    result = subprocess.run([*pip, *PY2_REQUIREMENTS], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PythonMissing(
            f"installing {PY2_REQUIREMENTS} for Python 2.7 failed:\n{result.stderr}"
        )
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


@dataclass(frozen=True)
class Run:
    suite: str
    variant: str
    checkout: Path
    results: Path
    python: str = PYTHON
    python_path: str = ""  # extra packages for ``python`` (the Python 2.7 ones)

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.variant}"

    @property
    def outcomes_path(self) -> Path:
        return self.results / f"{self.name}.json"


def orthanc_version() -> str:
    """The upstream version of the pinned ``orthanc`` package (``1.13.0+dfsg-1+b1`` -> 1.13.0)."""
    pins = (REPO / "docker" / "orthanc" / "packages.txt").read_text()
    match = re.search(r"^orthanc=(?:\d+:)?([0-9.]+)", pins, re.MULTILINE)
    if match is None:
        raise RuntimeError("docker/orthanc/packages.txt pins no orthanc version")
    return match.group(1)


def intended_differences(doc: Path = REPO / "docs" / "plugin.md") -> dict[str, str]:
    """``{test id: reason}`` from the table between the markers in docs/plugin.md."""
    text = doc.read_text()
    table = text[text.index(INTENDED_START) : text.index(INTENDED_END)]
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$", table, re.MULTILINE)
    return dict(rows)


# ---- inside the namespaces -----------------------------------------------------------------
def _suite_config(run: Run) -> dict[str, Any]:
    """GenerateConfigurationForTests.py's configuration, from the root's default one."""
    default, generated = WORK / "default.json", WORK / "generated.json"
    subprocess.run(
        orthanc_root.run_command(
            [orthanc_root.ORTHANC, f"--config={default}"], bind=[Path("/tmp")]
        ),
        check=True,
        capture_output=True,
    )
    # The generator downloads Orthanc's default configuration: hand it the root's instead.
    shim = (
        "import io, runpy, sys, urllib.request\n"
        "class Answer(io.BytesIO):\n"
        "    def getcode(self): return 200\n"
        f"urllib.request.urlopen = lambda url: Answer(open({str(default)!r}, 'rb').read())\n"
        f"sys.argv = ['generate', '--force', '--target', {str(generated)!r}]\n"
        f"runpy.run_path({str(run.checkout / 'GenerateConfigurationForTests.py')!r}, "
        "run_name='__main__')\n"
    )
    subprocess.run([PYTHON, "-c", shim], check=True, cwd=run.checkout, capture_output=True)
    config: dict[str, Any] = json.loads(generated.read_text())
    return config


def _remote_config(run: Run) -> dict[str, Any]:
    config = _suite_config(run)
    storage = WORK / "remote"
    config["StorageDirectory"] = config["IndexDirectory"] = str(storage)
    ours = run.variant == "ours"
    codec = orthanc_root.CODEC_PLUGIN if orthanc_root.CODEC_PLUGIN.is_file() else None
    config["Plugins"] = orthanc_root.plugin_list(
        python=ours, dicomweb=True, codec=codec if ours else None
    )
    if ours:
        base = json.loads((REPO / "orthanc.json").read_text())
        config.update({key: base[key] for key in PLUGIN_KEYS if key in base})
        config["Dictionary"] = {**config.get("Dictionary", {}), **base.get("Dictionary", {})}
        config["PythonScript"] = str(REPO / "orthanc-plugins" / "entry.py")
        config["NeuroNova"] = {
            **config.get("NeuroNova", {}),
            "Ai": False,
            "VarDirectory": str(WORK / "neuronova"),
        }
    return config


PEER_WRAPPER = """#!/bin/bash
# The suite's second Orthanc (its DICOM peer), from the same root. Run.py first asks it for a
# sample configuration, then stops it with a SIGTERM to this pid alone: hand that to Orthanc, the
# child of unshare, and wait for it.
case "$1" in
    --config=*) cd {repo} && exec {python} -m tests.upstream.orthanc_suite \\
        --sample-config "${{1#--config=}}" ;;
esac
{script} run --bind /tmp -- {orthanc} "$@" &
child=$!
trap 'kill -TERM $(ps -o pid= --ppid $child) 2>/dev/null' TERM INT
wait $child
status=$?
wait $child 2>/dev/null
exit $status
"""


def sample_config(path: Path) -> None:
    """Orthanc's sample configuration with the advanced options in the same file.

    Orthanc 1.13 moved options such as ``ExecuteLuaEnabled`` to a second sample file
    (``--advanced-config``); the suite's Run.py edits them with regexes in the one file it asked
    for, as older versions wrote it.
    """
    advanced = path.with_name(path.name + ".advanced")
    for option, target in (("--config", path), ("--advanced-config", advanced)):
        subprocess.run(
            orthanc_root.run_command(
                [orthanc_root.ORTHANC, f"{option}={target}"], bind=[Path("/tmp")]
            ),
            check=True,
            capture_output=True,
        )
    main, extra = path.read_text(), advanced.read_text()
    merged = main[: main.rindex("}")].rstrip() + ",\n" + extra[extra.index("{") + 1 :]
    path.write_text(merged)


def _wait_ready(url: str, auth: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    request = urllib.request.Request(f"{url}/system", headers={"Authorization": f"Basic {auth}"})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Orthanc exited at start-up:\n{log.read_text()[-3000:]}")
        with suppress(OSError), urllib.request.urlopen(request, timeout=2):
            return
        time.sleep(0.2)
    raise TimeoutError(f"Orthanc not ready:\n{log.read_text()[-3000:]}")


@contextmanager
def _remote_orthanc(run: Run) -> Iterator[None]:
    config = _remote_config(run)
    path = WORK / "remote.json"
    path.write_text(json.dumps(config, indent=1))
    log = run.results / f"{run.name}-orthanc.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            orthanc_root.orthanc_command(path, bind=[Path("/tmp")]),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=WORK,
            start_new_session=True,
        )
    try:
        user, password = next(iter(config["RegisteredUsers"].items()))
        auth = b64encode(f"{user}:{password}".encode()).decode()
        _wait_ready(f"http://127.0.0.1:{config['HttpPort']}", auth, proc, log)
        yield
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def _network_namespace() -> None:
    """Inside fresh namespaces: loopback up, a private /tmp, a /proc showing this pid namespace.

    A repository that itself lives under /tmp (CI's clean clone, `git clone . /tmp/x`) would
    vanish under the private /tmp, taking the venv and the root launcher with it: it is held by a
    descriptor across the mount and bound back at its own path.
    """
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    held = os.open(REPO, os.O_PATH) if REPO.resolve().is_relative_to("/tmp") else None
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=1777", "suite-tmp", "/tmp"], check=True)
    if held is not None:
        REPO.resolve().mkdir(parents=True)
        # --no-canonicalize: mount(8) would resolve the descriptor's link to its path name, which
        # now names the empty folder on the tmpfs; the kernel follows the link to the real one.
        bind = [
            "mount",
            "--no-canonicalize",
            "--rbind",
            f"/proc/self/fd/{held}",
            str(REPO.resolve()),
        ]
        subprocess.run(bind, check=True, pass_fds=(held,))
        os.close(held)
    subprocess.run(["mount", "-t", "proc", "proc", "/proc"], check=True)
    WORK.mkdir(parents=True)


def inside(run: Run) -> int:
    _network_namespace()
    script = run.checkout / SUITES[run.suite]
    args = ["--force"]
    if run.suite == "main":
        peer = WORK / "peer-orthanc.sh"
        peer.write_text(
            PEER_WRAPPER.format(
                script=shlex.quote(str(orthanc_root.SCRIPT)),
                orthanc=orthanc_root.ORTHANC,
                python=shlex.quote(PYTHON),
                repo=shlex.quote(str(REPO)),
            )
        )
        peer.chmod(0o755)
        args += ["--orthanc", str(peer)]
    with _remote_orthanc(run):
        command = [run.python, str(Path(__file__).with_name("unittest_json.py"))]
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        if run.python_path:
            env["PYTHONPATH"] = run.python_path
        log = run.results / f"{run.name}.log"
        with log.open("wb") as out:
            result = subprocess.run(
                [*command, str(run.outcomes_path), str(script), *args],
                cwd=script.parent,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=SUITE_TIMEOUT_S,
                check=False,
            )
    return result.returncode


# ---- outside: start the runs, compare ------------------------------------------------------
def start(run: Run) -> subprocess.Popen[bytes]:
    """The run in its own namespaces; everything it starts dies with it."""
    namespaces = ["unshare", "--net", "--mount", "--uts", "--pid", "--fork", "--kill-child"]
    inner = [PYTHON, "-m", "tests.upstream.orthanc_suite", "--inside", run.suite, run.variant]
    inner += ["--checkout", str(run.checkout), "--results", str(run.results)]
    inner += ["--python", run.python, "--python-path", run.python_path]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([*namespaces, "--", *inner], cwd=REPO, env=env)


def compare(
    plain: Mapping[str, str], ours: Mapping[str, str], intended: Mapping[str, str]
) -> dict[str, list[str]]:
    """Tests that pass plain and not ours, split into intended and unexpected; and the rest."""
    lost = sorted(t for t, outcome in plain.items() if outcome == "pass" and ours.get(t) != "pass")
    return {
        "unexpected": [t for t in lost if t not in intended],
        "intended": [t for t in lost if t in intended],
        "gained": sorted(t for t, o in ours.items() if o == "pass" and plain.get(t) != "pass"),
        "stale": sorted(t for t in intended if t in plain and t not in lost),
    }


def report(suite: str, plain: Mapping[str, str], ours: Mapping[str, str]) -> list[str]:
    intended = {t: r for t, r in intended_differences().items() if t.startswith(f"{suite}:")}
    prefixed = (
        {f"{suite}:{t}": o for t, o in plain.items()},
        {f"{suite}:{t}": o for t, o in ours.items()},
    )
    diff = compare(*prefixed, intended)

    def count(outcomes: Mapping[str, str]) -> str:
        passed = sum(o == "pass" for o in outcomes.values())
        return f"{passed}/{len(outcomes)} pass"

    lines = [f"{suite}: plain {count(plain)}, ours {count(ours)}"]
    for test in diff["intended"]:
        lines.append(f"  intended difference: {test} ({intended[test]})")
    for test in diff["gained"]:
        lines.append(f"  passes only with our plugins: {test}")
    for test in diff["stale"]:
        lines.append(f"  listed as intended but not different this run: {test}")
    for test in diff["unexpected"]:
        lines.append(f"  REGRESSION: {test} passes without our plugins and fails with them")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.upstream.orthanc_suite")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--inside", nargs=2, metavar=("SUITE", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--checkout", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sample-config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--python", default=PYTHON, help=argparse.SUPPRESS)
    parser.add_argument("--python-path", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sample_config:
        sample_config(args.sample_config)
        return 0
    if args.inside:
        suite, variant = args.inside
        return inside(
            Run(suite, variant, args.checkout, args.results, args.python, args.python_path)
        )
    suites = args.suite or list(SUITES)
    try:
        checkout = orthanc_tests.checkout(orthanc_tests.tag_for(orthanc_version()))
        interpreters = dict.fromkeys(suites, (PYTHON, ""))
        if "main" in suites:
            python = python2()
            interpreters["main"] = (python, str(python2_packages(python)))
    except (orthanc_tests.SuiteMissing, PythonMissing) as missing:
        print(f"ORTHANC'S INTEGRATION SUITE DID NOT RUN: {missing}", flush=True)
        return 2
    private_tmp = [
        path
        for path in (args.results, checkout)
        if path.resolve().is_relative_to("/tmp") and not path.resolve().is_relative_to(REPO)
    ]
    if private_tmp:  # each run mounts its own /tmp, which hides these (the repository is kept)
        print(f"ORTHANC'S INTEGRATION SUITE DID NOT RUN: {private_tmp} must not be under /tmp")
        return 2
    absent = orthanc_tests.missing_files(checkout)
    if absent:
        print(f"suite files absent from the mirror (tests using them fail both ways): {absent}")
    args.results.mkdir(parents=True, exist_ok=True)
    runs = [Run(s, v, checkout, args.results, *interpreters[s]) for s in suites for v in VARIANTS]
    procs = [(run, start(run)) for run in runs]
    for run, proc in procs:
        if proc.wait() != 0:
            print(f"{run.name}: the suite exited {proc.returncode} (see {run.results})")
    lines, failed = [], False
    for suite in suites:
        plain, ours = (
            json.loads(Run(suite, v, checkout, args.results).outcomes_path.read_text())
            for v in VARIANTS
        )
        lines += report(suite, plain, ours)
    failed = any("REGRESSION" in line for line in lines)
    text = "\n".join(lines)
    (args.results / "report.txt").write_text(text + "\n")
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
