"""Pure: the plugin's Prometheus metrics, in a registry of their own (prometheus-client).

Served at ``GET /neuronova/metrics``. Counters only grow within one Orthanc process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from neuronova_plugin.host import Response

# Encode times: ~1 ms for a small slice up to seconds for a large multi-frame object.
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class PluginMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.seen = Counter(
            "neuronova_ingest_instances_seen",
            "Instances received by the plugin's ingest callback",
            registry=self.registry,
        )
        self.transcoded = Counter(
            "neuronova_ingest_instances_transcoded",
            "Instances re-encoded to HTJ2K lossless and verified",
            ["transfer_syntax"],
            registry=self.registry,
        )
        self.kept = Counter(
            "neuronova_ingest_instances_kept",
            "Instances stored as received, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.bytes_in = Counter(
            "neuronova_ingest_bytes_in",
            "Bytes of instances received",
            registry=self.registry,
        )
        self.bytes_out = Counter(
            "neuronova_ingest_bytes_out",
            "Bytes of instances handed back to Orthanc for storage",
            registry=self.registry,
        )
        self.encode_seconds = Histogram(
            "neuronova_ingest_encode_seconds",
            "Time to re-encode and verify one instance",
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.route_errors = Counter(
            "neuronova_route_errors",
            "Plugin REST routes that failed",
            ["route"],
            registry=self.registry,
        )

    def response(self) -> Response:
        return Response(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
