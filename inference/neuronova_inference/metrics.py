"""adapter: Prometheus metrics of the worker and the API (prometheus-client)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# The service's own registry: /metrics exports the inference metrics and this process's, never
# collectors another library registered on prometheus-client's global one.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

STAGE_SECONDS = Histogram(
    "neuronova_inference_stage_seconds",
    "Time per pipeline stage",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "neuronova_inference_job_seconds",
    "Time from task start to its final state",
    ["state"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
    registry=REGISTRY,
)
JOBS = Counter(
    "neuronova_inference_jobs_total", "Jobs by final state", ["state"], registry=REGISTRY
)

DELIVERIES_DROPPED = Counter(
    "neuronova_inference_deliveries_dropped_total",
    "Deliveries of a job that did not run it: finished already, or running on another worker",
    ["reason"],
    registry=REGISTRY,
)


def observe_stages(stages: dict[str, float]) -> None:
    for name, seconds in stages.items():
        STAGE_SECONDS.labels(stage=name).observe(seconds)


TASKS_REFUSED = Counter(
    "neuronova_inference_tasks_refused_total",
    "Messages refused before running: unsigned or signed without this deployment's task key",
    ["reason"],
    registry=REGISTRY,
)
