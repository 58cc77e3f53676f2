"""Pure: combine probe outcomes into the /api/health body and status code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    detail: str


def summarise(results: Mapping[str, ProbeResult]) -> tuple[int, dict[str, Any]]:
    """200 when every check is ok, else 503 naming the failing ones."""
    failing = sorted(name for name, result in results.items() if not result.ok)
    body: dict[str, Any] = {
        "status": "ok" if not failing else "fail",
        "checks": {
            name: {"ok": result.ok, "detail": result.detail}
            for name, result in sorted(results.items())
        },
    }
    if failing:
        body["failing"] = failing
    return (200 if not failing else 503), body


def worker_results(
    replies: Sequence[Mapping[str, Any]], required: Mapping[str, str]
) -> dict[str, ProbeResult]:
    """Map Celery ping replies (``[{"portal@host": {"ok": "pong"}}]``) to one result per role.

    ``required`` maps a reported name (``portal-worker``) to the node-name prefix (``portal@``).
    """
    nodes = sorted(name for reply in replies for name in reply)
    results = {}
    for report_name, prefix in required.items():
        seen = [node for node in nodes if node.startswith(prefix)]
        results[report_name] = ProbeResult(
            ok=bool(seen),
            detail=", ".join(seen) if seen else f"no worker named {prefix}… answered ping",
        )
    return results
