"""Pure: the NeuroNova Grafana dashboards as data; `python observability/grafana/generate.py`
rewrites dashboards/*.json (a unit test fails when the committed JSON and this file disagree).

Four dashboards: ingest & storage, AI pipeline, access & security, FHIR.
Metric names are listed, with the service that exports each, in docs/observability.md.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
OUT_DIR = Path(__file__).resolve().parent / "dashboards"
TRANSCODE_FAILURES = 'reason=~"error|verify-mismatch|encoder-not-reversible|decode-error"'


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""


def _p95(metric: str, by: str = "", window: str = "5m", q: str = "0.95") -> str:
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket[{window}])))"


HEALTH = Panel(
    "Targets up",
    (('up{job=~"portal|orthanc|inference|inference-worker"}', "{{job}}"),),
    kind="stat",
    description="1 = Prometheus scrapes the service; 0 = down (alert NeuroNovaServiceDown).",
)

DASHBOARDS: dict[str, tuple[str, tuple[Panel, ...]]] = {
    "neuronova-ingest": (
        "NeuroNova · Ingest & storage",
        (
            HEALTH,
            Panel(
                "Instances received",
                (("sum(rate(neuronova_ingest_instances_seen_total[5m]))", "received"),),
                unit="ops",
            ),
            Panel(
                "Transcoded to HTJ2K / kept as received",
                (
                    (
                        "sum by (transfer_syntax)"
                        " (rate(neuronova_ingest_instances_transcoded_total[5m]))",
                        "transcoded {{transfer_syntax}}",
                    ),
                    (
                        "sum by (reason) (rate(neuronova_ingest_instances_kept_total[5m]))",
                        "kept: {{reason}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Storage ratio (bytes received / bytes stored)",
                (
                    (
                        "sum(rate(neuronova_ingest_bytes_in_total[1h]))"
                        " / sum(rate(neuronova_ingest_bytes_out_total[1h]))",
                        "ratio",
                    ),
                ),
                unit="none",
            ),
            Panel(
                "Re-encode + verify time per instance",
                (
                    (_p95("neuronova_ingest_encode_seconds", q="0.5"), "p50"),
                    (_p95("neuronova_ingest_encode_seconds"), "p95"),
                ),
                unit="s",
            ),
            Panel(
                "Transcode failures (kept, nothing lost)",
                (
                    (
                        "sum by (reason) (increase(neuronova_ingest_instances_kept_total"
                        f"{{{TRANSCODE_FAILURES}}}[1h]))",
                        "{{reason}}",
                    ),
                ),
                description="Alert NeuroNovaTranscodeFailures.",
            ),
            Panel(
                "Plugin route errors",
                (("sum by (route) (rate(neuronova_route_errors_total[5m]))", "{{route}}"),),
                unit="ops",
            ),
        ),
    ),
    "neuronova-ai": (
        "NeuroNova · AI pipeline",
        (
            HEALTH,
            Panel(
                "Celery queue length",
                (("neuronova_celery_queue_length", "{{queue}}"),),
                description="Alert NeuroNovaQueueBacklogGrowing.",
            ),
            Panel(
                "Inference jobs by final state",
                (("sum by (state) (rate(neuronova_inference_jobs_total[15m]))", "{{state}}"),),
                unit="ops",
                description="Alert NeuroNovaInferenceFailures.",
            ),
            Panel(
                "Inference job time (p95)",
                ((_p95("neuronova_inference_job_seconds", "state", "15m"), "{{state}}"),),
                unit="s",
            ),
            Panel(
                "Inference stage time (p95)",
                ((_p95("neuronova_inference_stage_seconds", "stage", "15m"), "{{stage}}"),),
                unit="s",
            ),
            Panel(
                "Execution provider",
                (("neuronova_inference_provider_info", "{{provider}}"),),
                kind="stat",
                description="1 for the ONNX Runtime provider in use (CUDA or CPU).",
            ),
            Panel(
                "Celery tasks by outcome",
                (
                    (
                        "sum by (task, state) (rate(neuronova_celery_tasks_total[15m]))",
                        "{{task}} {{state}}",
                    ),
                ),
                unit="ops",
            ),
            Panel(
                "Celery task latency (p95)",
                ((_p95("neuronova_celery_task_seconds", "task", "15m"), "{{task}}"),),
                unit="s",
            ),
        ),
    ),
    "neuronova-access": (
        "NeuroNova · Access & security",
        (
            HEALTH,
            Panel(
                "Portal responses by status",
                (
                    (
                        "sum by (status) (rate(django_http_responses_total_by_status_total[5m]))",
                        "{{status}}",
                    ),
                ),
                unit="reqps",
            ),
            Panel(
                "Portal request latency",
                (
                    (_p95("django_http_requests_latency_seconds_by_view_method", q="0.5"), "p50"),
                    (_p95("django_http_requests_latency_seconds_by_view_method"), "p95"),
                ),
                unit="s",
            ),
            Panel(
                "Authorisation decisions",
                (
                    (
                        "sum by (decision) (rate(neuronova_authz_decisions_total[5m]))",
                        "{{decision}}",
                    ),
                ),
                unit="ops",
                description="Alert NeuroNovaAuthorisationDenialSpike.",
            ),
            Panel(
                "Authorisation decision time (p95)",
                ((_p95("neuronova_authz_seconds"), "p95"),),
                unit="s",
            ),
            Panel(
                "Logins by outcome",
                (("sum by (outcome) (increase(neuronova_logins_total[1h]))", "{{outcome}}"),),
                description="Alert NeuroNovaLoginFailureSpike.",
            ),
            Panel(
                "Uploads by outcome",
                (("sum by (outcome) (increase(neuronova_uploads_total[1h]))", "{{outcome}}"),),
            ),
            Panel(
                "StudyInstanceUID conflicts (not reviewed)",
                (("max(neuronova_study_conflicts)", "open"),),
                description="Alert NeuroNovaStudyUidConflict; review in Django admin.",
            ),
        ),
    ),
    "neuronova-fhir": (
        "NeuroNova · FHIR sync to the EMR",
        (
            HEALTH,
            Panel(
                "Sync lag (oldest change not yet in the EMR)",
                (("max(neuronova_fhir_sync_lag_seconds)", "lag"),),
                unit="s",
                description="Alert NeuroNovaFhirSyncLagging above 15 minutes.",
            ),
            Panel(
                "Studies by sync state",
                (("sum by (status) (neuronova_fhir_sync_studies)", "{{status}}"),),
                description="Alert NeuroNovaFhirSyncFailed when any study is failed.",
            ),
            Panel(
                "Resources sent",
                (("sum(rate(neuronova_fhir_sync_resources_sent_total[15m]))", "sent"),),
                unit="ops",
            ),
            Panel(
                "Failed attempts",
                (("sum(increase(neuronova_fhir_sync_failures_total[1h]))", "failed / h"),),
            ),
        ),
    ),
}


def _panel(panel: Panel, index: int) -> dict[str, Any]:
    width = 12
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": width, "x": (index % 2) * width, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
            }
            for n, (expr, legend) in enumerate(panel.exprs)
        ],
    }


def dashboard(uid: str) -> dict[str, Any]:
    title, panels = DASHBOARDS[uid]
    return {
        "uid": uid,
        "title": title,
        "tags": ["neuronova"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": [_panel(panel, i) for i, panel in enumerate(panels)],
    }


def rendered() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    return {
        f"{uid}.json": json.dumps(dashboard(uid), indent=2, ensure_ascii=False) + "\n"
        for uid in DASHBOARDS
    }


def main() -> int:
    OUT_DIR.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
