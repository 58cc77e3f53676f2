"""Grafana dashboards: generated JSON is committed, well-formed, provisioned, and uses only
metrics that docs/observability.md lists (so the services know what to export)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from observability.grafana import generate

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "observability" / "grafana" / "dashboards"
DOC = ROOT / "docs" / "observability.md"
METRIC = re.compile(r"\b((?:neuronova|django)_[a-z0-9_]+|up)\b")


def _base(name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", name)


def _exprs() -> list[str]:
    rules = yaml.safe_load((ROOT / "observability/prometheus/rules/neuronova.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            exprs += [target["expr"] for target in panel["targets"]]
    return exprs


def test_committed_json_matches_the_generator() -> None:
    rendered = generate.rendered()
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in DASHBOARDS.glob("*.json")}
    assert on_disk == rendered, "run: .venv/bin/python observability/grafana/generate.py"


def test_the_four_dashboards_of_issue_7_exist() -> None:
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS.glob("*.json")}
    for topic in ("Ingest & storage", "AI pipeline", "Access & security", "FHIR"):
        assert any(topic in title for title in titles), topic


def test_panels_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (ROOT / "observability/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uids = {source["uid"] for source in provisioned["datasources"]}
    for path in DASHBOARDS.glob("*.json"):
        dashboard = json.loads(path.read_text())
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] in uids
            assert panel["targets"], panel["title"]


def test_every_metric_used_is_documented_for_its_owner() -> None:
    documented = set(METRIC.findall(DOC.read_text()))
    used = {_base(name) for expr in _exprs() for name in METRIC.findall(expr)}
    missing = {
        name for name in used if name not in documented and f"{name}_total" not in documented
    }
    assert not missing, f"add to docs/observability.md: {sorted(missing)}"
    assert "neuronova_fhir_sync_lag_seconds" in used
