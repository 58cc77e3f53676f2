"""Prometheus and Alertmanager configs: promtool/amtool checks, every alert fires in a rule test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from observability.prometheus.render import TEMPLATE, render
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[3] / "observability"
PROM = ROOT / "prometheus"
RULES = PROM / "rules" / "neuronova.yml"
RULE_TESTS = PROM / "tests" / "neuronova_test.yml"


def _tool(name: str) -> str:
    return require_tool(name, "prometheus-alertmanager" if name == "amtool" else "prometheus")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.compose.yml"])
def test_promtool_accepts_the_scrape_config(config: str) -> None:
    result = _run(_tool("promtool"), "check", "config", config, cwd=PROM)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_accepts_the_rules() -> None:
    result = _run(_tool("promtool"), "check", "rules", str(RULES), cwd=PROM)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_pass() -> None:
    result = _run(_tool("promtool"), "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rule_tests_can_fail(tmp_path: Path) -> None:
    """A wrong expectation must make `promtool test rules` fail (the tests are not vacuous)."""
    broken = RULE_TESTS.read_text().replace("severity: critical", "severity: page", 1)
    target = tmp_path / "broken_test.yml"
    target.write_text(broken.replace("../rules/neuronova.yml", str(RULES)))
    result = _run(_tool("promtool"), "test", "rules", str(target), cwd=tmp_path)
    assert result.returncode != 0


def _alert_names() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = _alert_names()
    assert names >= {
        "NeuroNovaServiceDown",
        "NeuroNovaQueueBacklogGrowing",
        "NeuroNovaInferenceFailures",
        "NeuroNovaTranscodeFailures",
        "NeuroNovaFhirSyncLagging",
        "NeuroNovaAuthorisationDenialSpike",
        "NeuroNovaAuditWriteFailures",
        "NeuroNovaStudyUidConflict",
    }
    assert fired == names
    assert quiet == names


def test_alertmanager_config_is_valid() -> None:
    result = _run(_tool("amtool"), "check-config", "alertmanager.yml", cwd=ROOT / "alertmanager")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=NeuroNovaServiceDown", "severity=critical", "job=orthanc"], "on-call"),
        (["alertname=NeuroNovaAuthorisationDenialSpike", "severity=warning"], "security"),
        (["alertname=NeuroNovaDicomAssociationsRefused", "severity=warning"], "security"),
        (["alertname=NeuroNovaFhirSyncLagging", "severity=warning"], "operators"),
    ],
)
def test_alertmanager_routes(labels: list[str], receiver: str) -> None:
    result = _run(
        _tool("amtool"),
        "config",
        "routes",
        "test",
        "--config.file=alertmanager.yml",
        *labels,
        cwd=ROOT / "alertmanager",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_native_config_renders_for_other_ports(tmp_path: Path) -> None:
    env = {
        "DJANGO_PORT": "18000",
        "NEURONOVA_WORKER_METRICS_PORT": "18501",
        "ORTHANC_HTTP_PORT": "18042",
        "INFERENCE_PORT": "18500",
        "PROMETHEUS_PORT": "19090",
        "ORTHANC_PASSWORD": "s3cret",
    }
    config = render(yaml.safe_load(TEMPLATE.read_text()), env, rules_dir=PROM / "rules")
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {
        "prometheus": ["127.0.0.1:19090"],
        "portal": ["127.0.0.1:18000"],
        "orthanc": ["127.0.0.1:18042"],
        "inference": ["127.0.0.1:18500"],
        "inference-worker": ["127.0.0.1:18501"],
    }
    orthanc = next(job for job in config["scrape_configs"] if job["job_name"] == "orthanc")
    assert orthanc["basic_auth"] == {"username": "orthanc", "password": "s3cret"}
    target = tmp_path / "prometheus.yml"
    target.write_text(yaml.safe_dump(config))
    result = _run(_tool("promtool"), "check", "config", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rule_count = sum(len(g["rules"]) for g in yaml.safe_load(RULES.read_text())["groups"])
    assert f"{rule_count} rules found" in result.stdout
