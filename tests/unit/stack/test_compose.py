"""docker-compose.yml stays valid and in step with the native run (no Docker engine here).

Three independent checks: Debian's docker-compose 1.29 parses and interpolates it, the Compose
specification's JSON schema (shipped inside that package) accepts it, and every file it mounts or
builds from exists in the repository.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from stack import render
from tests.support.tools import require_file, require_tool

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
SPEC = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_docker_compose_config_accepts_it() -> None:
    result = subprocess.run(
        [
            require_tool("docker-compose", "docker-compose"),
            "--env-file",
            str(ROOT / ".env.example"),
            "-f",
            str(COMPOSE),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_missing_secret_is_refused() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [require_tool("docker-compose", "docker-compose"), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode != 0
    assert "set " in result.stderr  # the ${VAR:?set VAR} message names what is missing


def test_compose_spec_schema_accepts_it() -> None:
    schema = json.loads(require_file(SPEC, "docker-compose").read_text())
    jsonschema.validate(_compose(), schema)


def test_every_mounted_or_built_path_exists() -> None:
    missing = []
    for name, service in _compose()["services"].items():
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                missing.append(f"{name}: build {build}")
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("./"):
                continue  # a named volume
            if not (ROOT / source[2:]).exists():
                missing.append(f"{name}: {source}")
    assert not missing, missing


def test_secret_files_live_in_the_generated_compose_folder() -> None:
    for name, secret in _compose().get("secrets", {}).items():
        assert secret["file"].startswith("${NEURONOVA_COMPOSE_DIR:-./var/compose}/"), name
    assert "/var/" in (ROOT / ".gitignore").read_text().splitlines()


def _running_services() -> dict[str, Any]:
    """The services `up` starts (the optional profiles aside)."""
    return {n: s for n, s in _compose()["services"].items() if not s.get("profiles")}


def test_only_nginx_and_the_dicom_port_are_published() -> None:
    published = {n: s["ports"] for n, s in _compose()["services"].items() if s.get("ports")}
    assert sorted(published) == ["nginx", "orthanc"]
    assert [p.rsplit(":", 1)[1] for p in published["orthanc"]] == ["4242"]
    assert [p.rsplit(":", 1)[1] for p in published["nginx"]] == ["8080"]


def test_databases_and_broker_have_no_route_out() -> None:
    services = _compose()["services"]
    assert _compose()["networks"]["backend"]["internal"] is True
    for name in ("postgres", "redis", "inference", "inference-worker"):
        assert list(services[name]["networks"]) == ["backend"], name


def test_every_service_is_hardened() -> None:
    for name, service in _running_services().items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["restart"] == "unless-stopped", name
        assert service["mem_limit"], name
        assert service["logging"]["options"]["max-size"], name
        assert "healthcheck" in service, name


def test_every_image_built_here_runs_unprivileged() -> None:
    for name, service in _compose()["services"].items():
        build = service.get("build")
        if not build:
            continue
        dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
        users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
        assert users, name
        assert users[-1] not in {"root", "0"}, name


def test_secrets_come_from_the_env_file_only() -> None:
    """Every secret is a required ${NAME:?...}: no default anyone could read here."""
    text = COMPOSE.read_text()
    for name in ("PASSWORD", "SECRET_KEY", "SIGNING_KEY", "API_TOKEN"):
        for match in re.finditer(r"\$\{([A-Z_]*" + name + r"[A-Z_]*)([^}]*)\}", text):
            if match.group(1) == "GRAFANA_ADMIN_PASSWORD":
                continue  # optional profile; Grafana refuses an empty admin password itself
            assert match.group(2).startswith(":?"), match.group(0)


def test_gpu_reserved_for_inference_in_the_gpu_override() -> None:
    """The AI core runs the model (the worker only asks it): it alone reserves the GPU."""
    services = yaml.safe_load((ROOT / "docker-compose.gpu.yml").read_text())["services"]
    assert sorted(services) == ["inference"]
    devices = services["inference"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    for name in ("inference", "inference-worker"):
        assert "deploy" not in _compose()["services"][name], "the CPU run reserves no GPU"


def test_compose_orthanc_config_is_generated_from_the_native_one() -> None:
    """Regenerate with `.venv/bin/python -m stack compose-config` after editing orthanc.json."""
    native = json.loads((ROOT / "orthanc.json").read_text())
    compose = json.loads((ROOT / "docker" / "orthanc" / "orthanc.json").read_text())
    assert compose == render.compose_orthanc_config(native)
    assert compose["AuthenticationEnabled"] is True
    assert compose["RegisteredUsers"] == {"orthanc": "${ORTHANC_PASSWORD}"}
    assert str(render.COMPOSE_CODEC_PLUGIN) in compose["Plugins"]
    assert compose["PostgreSQL"]["EnableIndex"] is True
