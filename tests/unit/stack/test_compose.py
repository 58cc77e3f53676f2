"""docker-compose.yml stays valid and in step with the native run (no Docker engine here).

Three independent checks: Debian's docker-compose 1.29 parses and interpolates it, the Compose
specification's JSON schema (shipped inside that package) accepts it, and every file it mounts or
builds from exists in the repository.
"""

from __future__ import annotations

import base64
import json
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
# Built outputs that `make up` / CI produce; they are mounted but not committed.
BUILD_OUTPUTS = {"spa/dist", "ohif-build/dist"}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    return dict(pairs)


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
            rel = source[2:]
            if rel not in BUILD_OUTPUTS and not (ROOT / rel).exists():
                missing.append(f"{name}: {source}")
    assert not missing, missing


def test_secret_files_are_operator_provided_and_never_committed() -> None:
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    for name, secret in _compose().get("secrets", {}).items():
        path = secret["file"]
        assert path.startswith("./secrets/"), name
        assert "/secrets/" in gitignore


def test_only_nginx_is_published() -> None:
    published = [name for name, svc in _compose()["services"].items() if svc.get("ports")]
    assert published == ["nginx"]


def test_gpu_reserved_for_inference() -> None:
    services = _compose()["services"]
    for name in ("inference", "inference-worker"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"]


def test_env_example_orthanc_auth_matches_password() -> None:
    env = _env_example()
    expected = base64.b64encode(f"orthanc:{env['ORTHANC_PASSWORD']}".encode()).decode()
    assert env["ORTHANC_AUTH_BASIC"] == expected


def test_compose_orthanc_config_is_generated_from_the_native_one() -> None:
    """Regenerate with `.venv/bin/python -m stack compose-config` after editing orthanc.json."""
    native = json.loads((ROOT / "orthanc.json").read_text())
    compose = json.loads((ROOT / "docker" / "orthanc" / "orthanc.json").read_text())
    assert compose == render.compose_orthanc_config(native)
    assert "Plugins" not in compose
    assert compose["AuthenticationEnabled"] is True
