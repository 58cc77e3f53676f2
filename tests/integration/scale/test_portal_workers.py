"""Several portal workers on one queue: job events that race, and a worker killed mid-task.

Two real portal Celery workers (`celery -A neuronova_portal.celery:app worker -Q portal`, two
processes each) share a private Redis and one portal database: on the machine's PostgreSQL, the
engine compose runs the portal on (a deployment with several portal workers), and on its MariaDB,
the other server engine the portal supports (SQLite takes one writer at a time, which hides the
race). The studies exist only in Orthanc at first, so the first events of a study also race to
mirror it.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest
from celery import Celery
from neuronova_contracts import tasks
from neuronova_contracts.jobs import JobEvent, JobState
from neuronova_contracts.signing import KEY_ENV, signed

from tests.support.deployables import python_path
from tests.support.orthanc import OrthancProcess
from tests.support.portal import make_mr
from tests.support.processes import stop_group
from tests.support.redis_server import RedisServer
from tests.support.server_databases import ENGINES, scratch_portal_database

REPO = Path(__file__).resolve().parents[3]
PORTAL_DIR = REPO / "django-portal"
VENV_BIN = Path(sys.executable).parent
STUDIES = 16
PATIENTS = 4
SUCCEEDED = re.compile(rb"Task neuronova\.portal\.job_event\[[^\]]+\] succeeded")


@dataclass
class PortalWorker:
    name: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PortalWorker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(VENV_BIN / "celery"),
                    "-A",
                    "neuronova_portal.celery:app",
                    "worker",
                    "-Q",
                    tasks.PORTAL_QUEUE,
                    "-n",
                    f"{self.name}-{os.getpid()}@%h",
                    "-c",
                    "2",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel",
                    "INFO",
                ],
                env=self.env,
                cwd=PORTAL_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def ready(self) -> bool:
        return b"ready." in self.log.read_bytes() if self.log.exists() else False

    def succeeded(self) -> int:
        return len(SUCCEEDED.findall(self.log.read_bytes())) if self.log.exists() else 0

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, sig)


@dataclass
class Portal:
    database_url: str
    orthanc: OrthancProcess
    redis: RedisServer
    workers: list[PortalWorker]
    env: dict[str, str]

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        parts = urlsplit(self.database_url)
        if parts.scheme == "postgres":
            with psycopg.connect(self.database_url.replace("postgres://", "postgresql://")) as pg:
                return [tuple(row) for row in pg.execute(query).fetchall()]
        my = pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            database=parts.path.lstrip("/"),
        )
        try:
            with my.cursor() as cursor:
                cursor.execute(query)
                return [tuple(row) for row in cursor.fetchall()]
        finally:
            my.close()

    def producer(self) -> Celery:
        return Celery("test-producer", broker=self.redis.url, fixups=[])

    def logs(self) -> str:
        return "\n".join(w.log.read_text(errors="replace")[-4000:] for w in self.workers)


@pytest.fixture(scope="module", params=ENGINES)
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    tmp = tmp_path_factory.mktemp("portal-workers")
    engine = scratch_portal_database(request.param)
    with engine as database_url:
        server = RedisServer(tmp).start()
        orthanc = OrthancProcess(workdir=tmp / "orthanc", plugin=False, codec=False)
        env = {
            **os.environ,
            "PYTHONPATH": python_path("django-portal"),
            "DJANGO_SETTINGS_MODULE": "neuronova_portal.settings",
            "NEURONOVA_ENV": "dev",
            "NEURONOVA_VAR": str(tmp / "var"),
            "DATABASE_URL": database_url,
            "NEURONOVA_REDIS_URL": server.url,
            "PORTAL_CACHE_URL": f"rediscache://127.0.0.1:{server.port}/1",
            "ORTHANC_URL": orthanc.url,
            "ORTHANC_USERNAME": orthanc.auth[0],
            "ORTHANC_PASSWORD": orthanc.auth[1],
        }
        for name in ("DATABASE_TEST_NAME", "PORTAL_CACHE_PREFIX", "DJANGO_DEBUG"):
            env.pop(name, None)
        workers = [PortalWorker(f"portal-{i}", env, tmp / f"portal-{i}.log") for i in (1, 2)]
        try:
            orthanc.start()
            subprocess.run(
                [sys.executable, str(PORTAL_DIR / "manage.py"), "migrate", "--noinput", "-v", "0"],
                env=env,
                check=True,
                timeout=300,
            )
            for worker in workers:
                worker.start()
            deadline = time.monotonic() + 120
            while not all(w.ready() for w in workers):
                assert time.monotonic() < deadline, "portal workers not ready"
                time.sleep(0.5)
            yield Portal(database_url, orthanc, server, workers, env)
        finally:
            for worker in workers:
                worker.stop()
            orthanc.stop()
            server.stop()


def _upload_studies(portal: Portal, count: int, tag: str) -> list[tuple[str, str]]:
    """``count`` one-slice studies in Orthanc, over PATIENTS patients: (study UID, Orthanc id)."""
    http = portal.orthanc.session()
    studies = []
    for i in range(count):
        study_uid = f"1.2.826.0.1.3680043.10.918.{tag}.{i + 1}"
        data, _ = make_mr(
            patient_id=f"NN-RACE-{tag}-{i % PATIENTS}",
            study_uid=study_uid,
            series_uid=f"{study_uid}.1",
            sop_uid=f"{study_uid}.1.1",
            size=16,
        )
        answer = http.post(f"{portal.orthanc.url}/instances", data=data, timeout=30)
        answer.raise_for_status()
        studies.append((study_uid, str(answer.json()["ParentStudy"])))
    return studies


def _events(study_uid: str, orthanc_id: str, start: datetime) -> list[JobEvent]:
    job_id = f"{orthanc_id}:nn-brain-tumour-synth:1.1.0"
    queued = JobEvent(job_id, study_uid, orthanc_id, JobState.QUEUED, at=start.isoformat())
    running = replace(queued, state=JobState.RUNNING, at=(start + timedelta(seconds=1)).isoformat())
    done = replace(
        queued,
        state=JobState.DONE,
        model_id="nn-brain-tumour-synth",
        model_version="1.1.0",
        seg_series_uid=f"{study_uid}.99",
        volumes_ml={"Enhancing tumour": 12.5},
        qc_score=0.9,
        at=(start + timedelta(seconds=2)).isoformat(),
    )
    return [queued, running, done]


def _utc(value: datetime) -> datetime:
    """MariaDB hands back Django's UTC datetimes without their zone; PostgreSQL with it."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_racing_job_events_on_two_portal_workers_end_in_each_jobs_latest_state(
    portal: Portal,
) -> None:
    studies = _upload_studies(portal, STUDIES, "1")
    start = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(18)  # the order is shuffled, and the same in every run
    batches = [_events(uid, oid, start) for uid, oid in studies]
    for batch in batches:
        rng.shuffle(batch)  # a job's three events side by side, in any order: they race
    rng.shuffle(batches)
    before = sum(w.succeeded() for w in portal.workers)
    producer = portal.producer()
    with producer.connection_for_write() as connection:
        for batch in batches:
            for event in batch:
                producer.send_task(
                    tasks.JOB_EVENT,
                    kwargs=signed(os.environ[KEY_ENV], tasks.JOB_EVENT, event.to_kwargs()),
                    queue=tasks.PORTAL_QUEUE,
                    connection=connection,
                )
    expected = before + 3 * STUDIES
    deadline = time.monotonic() + 240
    while sum(w.succeeded() for w in portal.workers) < expected:
        assert time.monotonic() < deadline, portal.logs()
        time.sleep(0.5)

    assert all(w.succeeded() > 0 for w in portal.workers), "both workers took events"
    assert "Traceback" not in portal.logs(), portal.logs()
    tag = "1.2.826.0.1.3680043.10.918.1.%"
    jobs = portal.rows(
        "SELECT j.job_id, j.state, j.seg_series_uid, j.event_at, s.study_uid FROM clinical_aijob j"
        f" JOIN clinical_study s ON s.id = j.study_id WHERE s.study_uid LIKE '{tag}'"
    )
    assert len(jobs) == STUDIES, jobs  # one row per job, none doubled
    wrong = [
        (job_id, state)
        for job_id, state, seg, event_at, study_uid in jobs
        if (state, seg, _utc(event_at)) != ("done", f"{study_uid}.99", start + timedelta(seconds=2))
    ]
    assert wrong == [], f"{len(wrong)} of {STUDIES} jobs not in their latest state: {wrong}"
    mirrored = portal.rows(
        f"SELECT study_uid, count(*) FROM clinical_study WHERE study_uid LIKE '{tag}'"
        " GROUP BY study_uid"
    )
    assert sorted(mirrored) == sorted((uid, 1) for uid, _ in studies)  # each study mirrored once
    patients = portal.rows(
        "SELECT patient_id, count(*) FROM clinical_patient WHERE patient_id LIKE 'NN-RACE-1-%'"
        " GROUP BY patient_id"
    )
    assert sorted(patients) == [(f"NN-RACE-1-{i}", 1) for i in range(PATIENTS)]
