"""Pure + CLI: render prometheus.yml for a native stack whose ports differ from the defaults.

    python observability/prometheus/render.py > var/prometheus/prometheus.yml

reads DJANGO_PORT, ORTHANC_HTTP_PORT, INFERENCE_PORT, NEURONOVA_WORKER_METRICS_PORT,
ORTHANC_USERNAME, ORTHANC_PASSWORD, PROMETHEUS_PORT and ALERTMANAGER_PORT (defaults: the
dev ports in prometheus.yml), and ORTHANC_METRICS_PORTS (comma-separated: each Orthanc replica
scraped itself, not through the load-balanced ORTHANC_HTTP_PORT) and points `rule_files` at
this folder's rules by absolute path, so the rendered file works from anywhere.
Then: `prometheus --config.file=var/prometheus/prometheus.yml ...`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "prometheus.yml"


def render(template: dict[str, Any], env: Mapping[str, str], *, rules_dir: Path) -> dict[str, Any]:
    """The template with each job's target, Orthanc's credentials and the rules path replaced."""
    ports = {
        "prometheus": env.get("PROMETHEUS_PORT", "9090"),
        "portal": env.get("DJANGO_PORT", "8000"),
        "orthanc": env.get("ORTHANC_HTTP_PORT", "8042"),
        "inference": env.get("INFERENCE_PORT", "8500"),
        "inference-worker": env.get("NEURONOVA_WORKER_METRICS_PORT", "8501"),
    }
    config: dict[str, Any] = yaml.safe_load(yaml.safe_dump(template, sort_keys=False))  # deep copy
    config["rule_files"] = [str(rules_dir / "*.yml")]
    alertmanager = f"127.0.0.1:{env.get('ALERTMANAGER_PORT', '9093')}"
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    for job in config["scrape_configs"]:
        name = job["job_name"]
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{ports[name]}"]
        if name == "orthanc":
            replicas = [p for p in env.get("ORTHANC_METRICS_PORTS", "").split(",") if p]
            if replicas:
                job["static_configs"][0]["targets"] = [f"127.0.0.1:{p}" for p in replicas]
            job["basic_auth"] = {
                "username": env.get("ORTHANC_USERNAME", "orthanc"),
                "password": env.get("ORTHANC_PASSWORD", "orthanc"),
            }
    return config


def main() -> int:
    template = yaml.safe_load(TEMPLATE.read_text())
    rendered = render(template, os.environ, rules_dir=HERE / "rules")
    sys.stdout.write(yaml.safe_dump(rendered, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
