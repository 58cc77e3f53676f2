"""wiring: the Celery inference worker (``neuronova.inference.segment_study``, queue inference).

    celery -A neuronova_inference.worker worker -Q inference -n inference@%h

The job is acknowledged only after it ends (acks_late, reject on a lost worker) and the broker's
visibility timeout is longer than the longest inference, so a killed worker's job is delivered
again; deterministic SEG UIDs make the rerun replace, not duplicate. Only transient errors
(Orthanc unreachable, 5xx) are retried. However many workers and however many deliveries of a
job, it runs once at a time and never again once it has ended (claims.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import redis
from celery import Celery, Task
from celery.signals import before_task_publish, worker_process_init
from neuronova_contracts import signing, tasks
from neuronova_contracts.jobs import JobState, job_event
from neuronova_contracts.manifest import ManifestError
from prometheus_client import start_http_server

from neuronova_inference.claims import JobClaims, Outcome
from neuronova_inference.config import from_env
from neuronova_inference.core_client import ServiceRefusedError, segment
from neuronova_inference.metrics import DELIVERIES_DROPPED, JOB_SECONDS, JOBS, TASKS_REFUSED
from neuronova_inference.metrics import REGISTRY as METRICS_REGISTRY
from neuronova_inference.orthanc_client import NotFoundError, StoreRejectedError, TransientError
from neuronova_inference.pipeline import RefusedError

CONFIG = from_env()
# One line per HTTP request and per copied DICOM module drown the job log.
LOG = logging.getLogger("neuronova.inference")
for _name in ("httpx", "highdicom"):
    logging.getLogger(_name).setLevel(logging.WARNING)
TASK_NAME = tasks.SEGMENT_STUDY
MAX_RETRIES = 5


class SignedTask(signing.SignedCall, Task):  # type: ignore[type-arg]
    """A job runs only from a message signed with this deployment's task key (docs/scaling.md)."""

    task_key = CONFIG.task_key

    def refused(self, reason: str, kwargs: Mapping[str, Any]) -> None:
        TASKS_REFUSED.labels(reason=reason.split(" (", 1)[0]).inc()
        LOG.warning(
            "task %s refused: %s (job %s, study %s)",
            self.name,
            reason,
            kwargs.get("job_id", "-"),
            kwargs.get("orthanc_study_id", "-"),
        )


# No Django fix-up: this worker is not a Django process, even where DJANGO_SETTINGS_MODULE is set
# in its environment (a shared host, or one pytest session with the portal's tests).
app = Celery("neuronova_inference", broker=CONFIG.redis_url, fixups=[], task_cls=SignedTask)
before_task_publish.connect(signing.publish_hook(CONFIG.task_key), weak=False)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=tasks.INFERENCE_QUEUE,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": int(os.environ.get("NEURONOVA_VISIBILITY_TIMEOUT_S", "3600"))
    },
    task_ignore_result=True,
)


_CLAIMS: JobClaims | None = None


def claims() -> JobClaims:
    """This process's claims on jobs (one Redis client, one owner id)."""
    global _CLAIMS  # noqa: PLW0603 - one per worker process, made on first use (after fork)
    if _CLAIMS is None:
        _CLAIMS = JobClaims(redis.Redis.from_url(CONFIG.redis_url), lease_s=CONFIG.job_lease_s)
    return _CLAIMS


def send_event(job: dict[str, Any], state: JobState, reason: str = "", **extra: Any) -> None:  # noqa: ANN401
    kwargs = job_event(
        job_id=job["job_id"],
        study_uid=job["study_uid"],
        orthanc_study_id=job["orthanc_study_id"],
        state=state,
        reason=reason,
        model_id=job["model_id"],
        model_version=job["model_version"],
        # Results and their quality control (absent before a result exists).
        seg_series_uid=extra.get("seg_series_uid", ""),
        volumes_ml=extra.get("volumes_ml"),
        qc_score=extra.get("qc_score"),
        needs_review=bool(extra.get("needs_review", False)),
        qc=extra.get("qc"),
    )
    try:
        app.send_task(tasks.JOB_EVENT, kwargs=kwargs, queue=tasks.PORTAL_QUEUE)
    except Exception as exc:  # noqa: BLE001 - an event must never decide the job's fate
        # Redis went away mid-job: the SEG is in Orthanc all the same; only this event is lost.
        LOG.warning("job %s: %s event not sent: %r", job["job_id"], state, exc)


@worker_process_init.connect
def _preload(**_: Any) -> None:  # noqa: ANN401
    # Prometheus endpoint of this pool process (run the worker with -c 1 so there is one).
    # Loopback by default; a container sets NEURONOVA_WORKER_METRICS_ADDR=0.0.0.0 for Prometheus.
    port = os.environ.get("NEURONOVA_WORKER_METRICS_PORT")
    if port:
        start_http_server(
            int(port),
            addr=os.environ.get("NEURONOVA_WORKER_METRICS_ADDR", "127.0.0.1"),
            registry=METRICS_REGISTRY,
        )


def _finish(
    job: dict[str, Any],
    started: float,
    state: JobState,
    reason: str = "",
    **extra: Any,  # noqa: ANN401 - event fields
) -> dict[str, Any]:
    JOBS.labels(state=state).inc()
    JOB_SECONDS.labels(state=state).observe(time.monotonic() - started)
    try:
        claims().finish(job["job_id"], state)
    except redis.RedisError as exc:  # the job ended all the same; a redelivery would rerun it
        LOG.warning("job %s: end not recorded: %r", job["job_id"], exc)
    send_event(job, state, reason, **extra)
    return {"state": state, "reason": reason, **extra}


def failure_reason(exc: Exception) -> str:
    """The job's user-facing reason for a permanent error."""
    if isinstance(exc, NotFoundError):
        return f"study not found in Orthanc: {exc}"
    if isinstance(exc, StoreRejectedError | ServiceRefusedError):
        return str(exc)
    if isinstance(exc, ManifestError):
        return f"model unavailable: {exc}"
    return f"internal error: {type(exc).__name__}: {exc}"


@app.task(name=TASK_NAME, bind=True, acks_late=True, max_retries=MAX_RETRIES)
def segment_study(
    self: Task,  # type: ignore[type-arg]
    *,
    job_id: str,
    study_uid: str,
    orthanc_study_id: str,
    model_id: str,
    model_version: str,
) -> dict[str, Any]:
    job = {
        "job_id": job_id,
        "study_uid": study_uid,
        "orthanc_study_id": orthanc_study_id,
        "model_id": model_id,
        "model_version": model_version,
    }
    try:
        outcome = claims().claim(job_id)
    except redis.RedisError as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc
    if outcome is Outcome.FINISHED:
        LOG.info("job %s: ended already (%s); duplicate delivery dropped", job_id, outcome.value)
        DELIVERIES_DROPPED.labels(reason="finished").inc()
        return {"state": "duplicate", "reason": "finished already"}
    if outcome is Outcome.BUSY:
        # Running on another worker, which may still die: look again once its lease could expire.
        LOG.info(
            "job %s: running elsewhere; this delivery comes back in %ss", job_id, CONFIG.job_lease_s
        )
        DELIVERIES_DROPPED.labels(reason="running-elsewhere").inc()
        app.send_task(
            TASK_NAME,
            kwargs=job,
            queue=tasks.INFERENCE_QUEUE,
            task_id=job_id,
            countdown=CONFIG.job_lease_s,
        )
        return {"state": "deferred", "reason": "running on another worker"}
    with claims().heartbeat(job_id):
        return _run(self, job)


def _run(task: Task, job: dict[str, Any]) -> dict[str, Any]:  # type: ignore[type-arg]
    started = time.monotonic()
    send_event(job, JobState.RUNNING)
    try:
        result = segment(CONFIG, job=job)
    except RefusedError as exc:
        return _finish(job, started, exc.state, exc.reason)
    except TransientError as exc:
        if task.request.retries >= MAX_RETRIES:
            return _finish(
                job, started, JobState.FAILED, f"gave up after {MAX_RETRIES} retries: {exc}"
            )
        claims().release(job["job_id"])
        raise task.retry(exc=exc, countdown=min(60, 2 ** (task.request.retries + 1))) from exc
    except Exception as exc:  # noqa: BLE001 - a bug must end the job visibly, not loop retrying
        return _finish(job, started, JobState.FAILED, failure_reason(exc))
    return _finish(
        job,
        started,
        JobState.DONE,
        seg_series_uid=str(result["seg_series_uid"]),
        volumes_ml=dict(result.get("volumes_ml") or {}),
        qc_score=result.get("qc_score"),
        needs_review=bool(result.get("needs_review", False)),
        qc=dict(result.get("qc") or {}),
    )
