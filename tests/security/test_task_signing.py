"""Door 6, second lock: a Celery message queued with Redis's password but without the task key.

Whoever holds the broker's password (every replica, worker and portal host has it) could tell
the portal that any study's AI job is done with any volumes, or have the inference worker run a
job of their own. Every message now carries an HMAC under the deployment's task key
(`neuronova_contracts.signing`; `make up` generates NEURONOVA_TASK_KEY into var/secrets.env):
the native stack's own plugin, worker and portal sign with it, and an unsigned message or one
signed with another key is refused before its task runs, logged and counted (portal: an audit
row `task-refused`; inference worker: `neuronova_inference_tasks_refused_total`). Without the
signatures both would run: the event is newer than the job's last one, and the job id is new.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from neuronova_contracts import tasks
from neuronova_contracts.signing import SIGNATURE, signature

from tests.support.stack import RunningStack

ATTACKER = """
import json, sys
from celery import Celery
url, name, queue, kwargs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
app = Celery("attacker", broker=url, fixups=[])
app.send_task(name, kwargs=kwargs, queue=queue)
app.close()
"""
_STATE = (
    "import json; from clinical.models import AIJob, Study; from audit.models import AuditEvent; "
    "uid = {uid!r}; study = Study.objects.get(study_uid=uid); "
    "print(json.dumps({{'orthanc_study_id': study.orthanc_study_id, 'jobs': [{{'job_id': j.job_id,"
    " 'state': j.state, 'volumes_ml': j.volumes_ml, 'event_at': j.event_at.isoformat(), "
    "'model_id': j.model_id, 'model_version': j.model_version}} for j in AIJob.objects.filter("
    "study=study).order_by('job_id')], 'refused': sorted(e.detail for e in "
    "AuditEvent.objects.filter(action='task-refused', study_uid=uid))}}))"
)


def _attack(stack: RunningStack, name: str, queue: str, kwargs: dict[str, Any]) -> None:
    """Queue ``kwargs`` as the Redis password's holder can: a fresh process without the key."""
    env = {key: value for key, value in os.environ.items() if key != "NEURONOVA_TASK_KEY"}
    url = stack.config.redis_url
    subprocess.run(
        [sys.executable, "-c", ATTACKER, url, name, queue, json.dumps(kwargs)],
        env=env,
        check=True,
        timeout=60,
    )


def _portal_state(stack: RunningStack, study_uid: str) -> dict[str, Any]:
    result = stack.manage("shell", "-c", _STATE.format(uid=study_uid))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _refused_by_worker(stack: RunningStack) -> float:
    url = f"http://127.0.0.1:{stack.config.worker_metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("neuronova_inference_tasks_refused_total{")
    )


def _segs(stack: RunningStack, orthanc_study_id: str) -> int:
    import base64  # noqa: PLC0415

    auth = base64.b64encode(":".join(stack.orthanc_auth).encode()).decode()
    request = urllib.request.Request(
        f"{stack.orthanc_url}/studies/{orthanc_study_id}/series",
        headers={"Authorization": f"Basic {auth}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        series = json.loads(response.read())
    return sum(1 for s in series if s["MainDicomTags"].get("Modality") == "SEG")


def _wait(what: str, check: Any, timeout_s: float = 300, seen: Any = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; now: {seen() if seen else '-'}")
        time.sleep(1)


def test_forged_job_event_and_segmentation_job_are_refused_and_change_nothing(
    stack: RunningStack,
) -> None:
    study_uid = stack.send_demo_study(seed=73)
    # The genuine pipeline, every message signed with the key `up` generated: done.
    state = _wait(
        "the study's genuine job to end done",
        lambda: (
            (s := _portal_state(stack, study_uid))["jobs"]
            and all(j["state"] == "done" for j in s["jobs"])
            and s
        ),
    )
    (job,) = state["jobs"]
    orthanc_id = state["orthanc_study_id"]
    segs = _segs(stack, orthanc_id)
    assert segs == 1
    worker_refused = _refused_by_worker(stack)

    forged_done = {
        "job_id": job["job_id"],
        "study_uid": study_uid,
        "orthanc_study_id": orthanc_id,
        "state": "done",
        "model_id": job["model_id"],
        "model_version": job["model_version"],
        "seg_series_uid": "1.2.3.4",
        "volumes_ml": {"Enhancing tumour": 999.0},
        "at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    _attack(stack, tasks.JOB_EVENT, tasks.PORTAL_QUEUE, forged_done)  # unsigned
    other_key = signature("not-the-deployment-key-" * 2, tasks.JOB_EVENT, (), forged_done)
    _attack(stack, tasks.JOB_EVENT, tasks.PORTAL_QUEUE, {**forged_done, SIGNATURE: other_key})
    forged_job = {
        "job_id": f"{orthanc_id}:{job['model_id']}:forged",
        "study_uid": study_uid,
        "orthanc_study_id": orthanc_id,
        "model_id": job["model_id"],
        "model_version": job["model_version"],
    }
    _attack(stack, tasks.SEGMENT_STUDY, tasks.INFERENCE_QUEUE, forged_job)

    after = _wait(
        "the portal worker to refuse both forged events",
        lambda: len((s := _portal_state(stack, study_uid))["refused"]) >= 2 and s,
        timeout_s=120,
        seen=lambda: (_portal_state(stack, study_uid), _segs(stack, orthanc_id)),
    )
    assert sorted(after["refused"]) == sorted(
        [f"bad signature; job {job['job_id']}", f"unsigned; job {job['job_id']}"]
    )
    _wait(
        "the inference worker to refuse the forged job",
        lambda: _refused_by_worker(stack) >= worker_refused + 1,
        timeout_s=120,
    )
    time.sleep(3)  # a forged job that ran anyway would now be sending its events
    after = _portal_state(stack, study_uid)
    assert after["jobs"] == [job]  # same state, volumes and time; no job of the forger's
    assert _segs(stack, orthanc_id) == segs
