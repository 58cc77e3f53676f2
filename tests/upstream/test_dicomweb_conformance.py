"""Conformance: Orthanc's own DICOMweb suite through the portal vs straight at Orthanc.

The suite (orthanc-tests ``Plugins/DicomWeb/Run.py`` at the tag of the Orthanc under test, found
by tests/upstream/orthanc_tests.py) runs twice against one chain (Orthanc 1.13 + DICOMweb as
shipped, nginx, gunicorn): once straight at Orthanc, once with its QIDO / WADO-RS / WADO-URI
requests sent to the portal with a radiologist's token (tests/upstream/suite_wrapper.py). Every
test whose outcome differs must be listed, with its reason, in dicomweb_differences.py (and
docs/portal.md); a listed test that no longer differs fails too, so the list stays true.

The Orthanc runs without the NeuroNova Python plugin: the variable here is the portal (the
plugin's own effect on Orthanc's suites is the orthanc-runtime comparison's business). It gets
the settings the suite needs to run at all: Lua (its clean-up between tests), the private
dictionary entries it queries, and the DICOMweb client server ``sample`` pointing at itself.

No suite on the machine (a clean machine cannot download it): the test fails and says what to
provide. Logs and outcomes go to ``test-artifacts/dicomweb-conformance/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.portal import PortalChain, portal_chain
from tests.upstream import orthanc_tests
from tests.upstream.dicomweb_differences import EXPECTED

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dicomweb-conformance"
WRAPPER = Path(__file__).with_name("suite_wrapper.py")
SUITE_TIMEOUT_S = 1800
# What the suite's own configuration generator gives Orthanc and its tests rely on.
SUITE_SETTINGS = {
    "ExecuteLuaEnabled": True,  # DropOrthanc() resets Lua callbacks before every test
    "OverwriteInstances": True,
    "StableAge": 1,
    "DefaultPrivateCreator": "Lunit",
    "Dictionary": {
        "0009,0010": ["LO", "Private data element", 1, 1, "Lunit"],
        "0009,1001": ["DS", "Abnormality score", 1, 1, "Lunit"],
    },
}
Outcomes = dict[str, tuple[str, str]]


@dataclass(frozen=True)
class Runs:
    tag: str
    direct: Outcomes
    portal: Outcomes
    missing_inputs: list[str]


def _run_suite(chain: PortalChain, suite: Path, name: str, *, portal: bool) -> Outcomes:
    results = ARTIFACTS / f"{name}.json"
    results.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(WRAPPER),
        *("--suite", str(suite / "Plugins" / "DicomWeb" / "Run.py")),
        *("--results", str(results)),
        *("--orthanc", chain.orthanc.url, "--orthanc-auth", ":".join(chain.orthanc.auth)),
        *(("--portal", chain.url) if portal else ()),
        "--",
        *("--server", "127.0.0.1", "--rest", str(chain.orthanc.http_port)),
        *("--username", chain.orthanc.auth[0], "--password", chain.orthanc.auth[1], "--force"),
    ]
    env = dict(os.environ)
    if portal:
        env["NEURONOVA_SUITE_TOKEN"] = chain.token_pair("radiologist")["access"]
    with (ARTIFACTS / f"{name}.log").open("w") as log:
        subprocess.run(
            command,
            cwd=suite,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=SUITE_TIMEOUT_S,
            check=False,
        )
    assert results.is_file(), f"the suite did not finish; see {ARTIFACTS / name}.log"
    return {k: (v[0], v[1]) for k, v in json.loads(results.read_text()).items()}


def _suite_or_fail(find: Callable[[], Path]) -> Path:
    """The suite's folder, or a loud failure saying what to provide (never a skip)."""
    try:
        return find()
    except orthanc_tests.SuiteMissing as exc:
        missing = str(exc)
    pytest.fail(f"DICOMweb conformance NOT RUN: {missing}", pytrace=False)


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _suite_or_fail(orthanc_tests.require_source)  # before starting anything
    with portal_chain(
        env={"JWT_ACCESS_MINUTES": "240"},
        orthanc_plugin=False,
        orthanc_overrides=SUITE_SETTINGS,
    ) as chain:
        session = chain.orthanc.session()
        version = session.get(f"{chain.orthanc.url}/system", timeout=10).json()["Version"]
        tag = orthanc_tests.tag_for(version)
        suite = _suite_or_fail(lambda: orthanc_tests.checkout(tag))
        sample = {"Url": f"{chain.orthanc.url}/dicom-web/", "Username": "orthanc"}
        sample["Password"] = chain.orthanc.auth[1]
        session.put(f"{chain.orthanc.url}/dicom-web/servers/sample", json=sample, timeout=10)
        direct = _run_suite(chain, suite, "direct", portal=False)
        through_portal = _run_suite(chain, suite, "portal", portal=True)
        yield Runs(tag, direct, through_portal, orthanc_tests.missing_files(suite))


def _table(runs: Runs) -> str:
    rows = [f"orthanc-tests {runs.tag}, Plugins/DicomWeb: test, straight at Orthanc, via portal"]
    for name in sorted(set(runs.direct) | set(runs.portal)):
        direct = runs.direct.get(name, ("absent", ""))
        portal = runs.portal.get(name, ("absent", ""))
        mark = "  " if direct[0] == portal[0] else "≠ "
        rows.append(f"{mark}{name}: {direct[0]} / {portal[0]}  {portal[1][:120]}")
    if runs.missing_inputs:
        rows.append(f"sample files absent from the mirror: {', '.join(runs.missing_inputs)}")
    return "\n".join(rows)


def test_the_suite_ran_both_ways(runs: Runs) -> None:
    (ARTIFACTS / "comparison.txt").write_text(_table(runs) + "\n")
    print(_table(runs))
    assert set(runs.direct) == set(runs.portal)
    assert len(runs.direct) >= 30
    assert sum(outcome == "pass" for outcome, _ in runs.portal.values()) >= 20


def test_every_difference_from_orthanc_is_explained(runs: Runs) -> None:
    differing = {
        name
        for name in runs.direct
        if runs.direct[name][0] != runs.portal.get(name, ("absent", ""))[0]
    }
    unexplained = sorted(differing - set(EXPECTED))
    stale = sorted(set(EXPECTED) - differing)
    assert not unexplained, "differences without a reason:\n" + "\n".join(
        f"{name}: direct {runs.direct[name]}, portal {runs.portal[name]}" for name in unexplained
    )
    assert not stale, f"listed in dicomweb_differences.py but no longer different: {stale}"
