"""Two `neuronova.fhir.sync_study` runs of one study at once (two portal workers, or one at
`--concurrency 2`): the run that read the older study must not leave it on the FHIR server.

The race runs in a child process (tests/support/fhir_race.py) on a server database, PostgreSQL
(compose's portal engine) and MariaDB, with the real task and FHIR client against the test FHIR
server; run A is held at its first FHIR request until run B has synced the newer study, so A
always writes last.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deployables import python_path
from tests.support.fhir_server import FhirTestServer
from tests.support.server_databases import ENGINES, scratch_portal_database

REPO = Path(__file__).resolve().parents[3]
PORTAL_DIR = REPO / "django-portal"


@pytest.fixture(scope="module", params=ENGINES)
def database_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    engine = scratch_portal_database(request.param)
    with engine as database_url:
        env = {
            **os.environ,
            "PYTHONPATH": f"{REPO}:{python_path('django-portal')}",
            "DJANGO_SETTINGS_MODULE": "neuronova_portal.settings",
            "NEURONOVA_ENV": "dev",
            "NEURONOVA_VAR": str(tmp_path_factory.mktemp("fhir-race")),
            "DATABASE_URL": database_url,
            "PORTAL_CACHE_URL": "locmemcache://",
        }
        for name in ("DATABASE_TEST_NAME", "PORTAL_CACHE_PREFIX", "DJANGO_DEBUG"):
            env.pop(name, None)
        subprocess.run(
            [sys.executable, str(PORTAL_DIR / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env=env,
            check=True,
            timeout=300,
        )
        yield env


def test_the_run_with_the_older_study_writing_last_leaves_the_newer_on_the_server(
    database_env: dict[str, str], fhir_server: FhirTestServer
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.fhir_race"],
        env={**database_env, "FHIR_BASE_URL": fhir_server.base_url},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["a_waited_for_b"] == [True], outcome  # the interleaving happened as forced
    assert outcome["alive"] == [], outcome
    assert outcome["results"] == {"A": "synced", "B": "synced"}, outcome
    # The newer study (re-analysis job-2, volumes 1.0 and 2.0, signed again) is what stays.
    (report,) = fhir_server.search("DiagnosticReport")
    assert report["status"] == "amended", report
    volumes = sorted(o["valueQuantity"]["value"] for o in fhir_server.search("Observation"))
    assert volumes == [1.0, 2.0], volumes
    jobs = {i["value"] for i in report["identifier"] if i.get("system") == "urn:neuronova:ai-job"}
    assert jobs == {"job-2"}, report["identifier"]
    assert outcome["status"] == "synced", outcome
    assert outcome["requested_at"] == "None", outcome  # nothing left waiting
