"""The native runner's pure parts: config from the environment and the rendered files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stack import render
from stack.config import ConfigError, load
from stack.orthanc_cluster import replicas_http_block

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_are_the_design_ports() -> None:
    config = load({}, root=ROOT)
    assert (config.http_port, config.orthanc_http_port, config.orthanc_dicom_port) == (
        8080,
        8042,
        4242,
    )
    assert config.orthanc_aet == "NEURONOVA"
    assert config.database_url.startswith("sqlite:///")
    assert config.var_dir == ROOT / "var"


def test_relative_var_is_under_the_repository() -> None:
    assert load({"NEURONOVA_VAR": "var/test-x"}, root=ROOT).var_dir == ROOT / "var" / "test-x"


@pytest.mark.parametrize("raw", ["abc", "0", "70000"])
def test_bad_port_is_a_clear_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="NEURONOVA_HTTP_PORT"):
        load({"NEURONOVA_HTTP_PORT": raw}, root=ROOT)


@pytest.mark.parametrize("env", ["dev", "production"])
def test_published_secrets_are_refused_in_every_env(env: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(
            {
                "NEURONOVA_ENV": env,
                "JWT_SIGNING_KEY": "real",
                "ORTHANC_PASSWORD": "orthanc",
                "DJANGO_SECRET_KEY": "dev-only-django-secret-do-not-use-in-production",
            },
            root=ROOT,
        )
    assert "ORTHANC_PASSWORD" in str(error.value)
    assert "DJANGO_SECRET_KEY" in str(error.value)
    assert "JWT_SIGNING_KEY" not in str(error.value)


def test_the_redis_password_goes_into_the_broker_url() -> None:
    config = load({"REDIS_PASSWORD": "pw-1", "NEURONOVA_REDIS_URL": "redis://h:7/2"}, root=ROOT)
    assert config.redis_url == "redis://:pw-1@h:7/2"
    assert config.redis_url_shown == "redis://h:7/2"
    own = load({"REDIS_PASSWORD": "pw-1", "NEURONOVA_REDIS_URL": "redis://:x@h:7/2"}, root=ROOT)
    assert own.redis_url == "redis://:x@h:7/2"
    assert load({}, root=ROOT).redis_url == "redis://127.0.0.1:6390/0"


def test_production_with_own_secrets_loads() -> None:
    config = load(
        {
            "NEURONOVA_ENV": "production",
            "JWT_SIGNING_KEY": "a",
            "DJANGO_SECRET_KEY": "b",
            "ORTHANC_PASSWORD": "c",
        },
        root=ROOT,
    )
    assert config.env == "production"


def test_substitute_leaves_nginx_variables() -> None:
    text = render.substitute(
        "listen ${NN_HTTP_PORT}; proxy_set_header Host $host;", {"NN_HTTP_PORT": "9"}
    )
    assert text == "listen 9; proxy_set_header Host $host;"


def test_substitute_refuses_an_unknown_name() -> None:
    with pytest.raises(KeyError, match="NN_MISSING"):
        render.substitute("root ${NN_MISSING};", {})


def test_nginx_templates_use_only_known_names() -> None:
    values = render.nginx_values(load({}, root=ROOT))
    for name in ("neuronova.conf.template", "nginx.native.conf.template"):
        rendered = render.substitute((ROOT / "nginx" / name).read_text(), values)
        assert "${NN_" not in rendered


def test_internal_locations_are_internal() -> None:
    template = (ROOT / "nginx" / "neuronova.conf.template").read_text()
    for location in ("/internal-orthanc/", "/internal-orthanc-raw/"):
        block = template.split(f"location {location} {{", 1)[1].split("}", 1)[0]
        assert "internal;" in block


def test_orthanc_config_overrides_only_run_keys(tmp_path: Path) -> None:
    config = load(
        {
            "NEURONOVA_VAR": str(tmp_path),
            "ORTHANC_HTTP_PORT": "18042",
            "NEURONOVA_REDIS_URL": "redis://127.0.0.1:16379/0",
        },
        root=ROOT,
    )
    base = json.loads((ROOT / "orthanc.json").read_text())
    rendered = render.orthanc_config(base, config, codec=None)
    assert rendered["HttpPort"] == 18042
    assert rendered["StorageDirectory"] == str(tmp_path / "orthanc" / "storage")
    assert rendered["NeuroNova"]["RedisUrl"] == "redis://127.0.0.1:16379/0"
    assert rendered["NeuroNova"]["OrthancLogFile"] == str(tmp_path / "log" / "orthanc.log")
    assert rendered["DicomModalities"] == {}
    assert rendered["DicomAlwaysAllowStore"] is False
    assert rendered["AuthenticationEnabled"] is True
    assert rendered["RemoteAccessAllowed"] is False
    untouched = {k for k in base if rendered[k] == base[k]}
    assert {
        "DicomWeb",
        "StableAge",
        "ExecuteLuaEnabled",
        "RestApiWriteToFileSystemEnabled",
    } <= untouched
    assert base["NeuroNova"] != rendered["NeuroNova"]  # the base dict was not mutated in place


def test_supervisord_conf_escapes_percent_and_manages_redis_on_request() -> None:
    config = load({"DJANGO_SECRET_KEY": "a%b"}, root=ROOT)
    conf = render.supervisord_conf(config, render.programs(config, manage_redis=True))
    assert 'DJANGO_SECRET_KEY="a%%b"' in conf
    assert "[program:redis]" in conf
    assert "-n inference@%%h" in conf
    without = render.supervisord_conf(config, render.programs(config, manage_redis=False))
    assert "[program:redis]" not in without


def test_programs_start_in_dependency_order() -> None:
    names = [p.name for p in render.programs(load({}, root=ROOT), manage_redis=True)]
    assert names[0] == "redis"
    assert names[-1] == "nginx"
    assert names.index("orthanc") < names.index("django")


def test_prometheus_is_optional() -> None:
    assert load({}, root=ROOT).prometheus_port is None
    assert "prometheus" not in [
        p.name for p in render.programs(load({}, root=ROOT), manage_redis=False)
    ]
    config = load({"NEURONOVA_PROMETHEUS": "1", "PROMETHEUS_PORT": "19090"}, root=ROOT)
    (program,) = [p for p in render.programs(config, manage_redis=False) if p.name == "prometheus"]
    assert "--web.listen-address=127.0.0.1:19090" in program.command
    assert 19090 in config.ports


def test_worker_metrics_port_reaches_the_worker() -> None:
    config = load({"NEURONOVA_WORKER_METRICS_PORT": "18501"}, root=ROOT)
    (worker,) = [
        p for p in render.programs(config, manage_redis=False) if p.name == "inference-worker"
    ]
    assert worker.environment["NEURONOVA_WORKER_METRICS_PORT"] == "18501"


def test_metrics_are_not_public() -> None:
    template = (ROOT / "nginx" / "neuronova.conf.template").read_text()
    assert "location = /api/metrics {\n        return 404;" in template


def test_portal_worker_runs_the_periodic_fhir_resync() -> None:
    config = load({}, root=ROOT)
    (worker,) = [
        p for p in render.programs(config, manage_redis=False) if p.name == "portal-worker"
    ]
    assert f" -B --schedule {config.var_dir}/run/portal-beat-schedule" in worker.command


def _seconds_after(flag: str, text: str) -> int:
    found = re.findall(rf"{re.escape(flag)}\s+(\d+)s?\b", text)
    assert len(found) == 1, f"{flag} given {len(found)} times"
    return int(found[0])


def test_gunicorn_outlives_nginx_on_an_idle_upstream_connection() -> None:
    # The side that closes an idle kept-alive connection first must be nginx: when gunicorn
    # closed first (its default --keep-alive is 2 s), nginx could send a frame request on a
    # closing connection and answer 502 "upstream prematurely closed connection".
    template = (ROOT / "nginx" / "neuronova.conf.template").read_text()
    django_upstream = template.split("upstream neuronova_django {", 1)[1].split("\n}", 1)[0]
    nginx_s = _seconds_after("keepalive_timeout", django_upstream)
    (django,) = [
        p for p in render.programs(load({}, root=ROOT), manage_redis=False) if p.name == "django"
    ]
    compose = (ROOT / "docker-compose.yml").read_text()
    for command in (django.command, compose):
        assert _seconds_after("--keep-alive", command) > nginx_s


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s)?", value).groups()  # type: ignore[union-attr]
    return float(number) * (1 if unit == "ms" else 1000)


def test_nginx_drops_an_idle_orthanc_connection_before_orthanc_does() -> None:
    # Orthanc closes an idle kept-alive connection after KeepAliveTimeout (1 s); nginx's upstream
    # default is 60 s, so it reused closed connections ("upstream prematurely closed connection"
    # under the viewer bench), which a STOW or SEG upload through the replicas' upstream would
    # have answered with a 502. Both upstreams that face Orthanc must let go first.
    orthanc_ms = []
    for path in (ROOT / "orthanc.json", ROOT / "docker" / "orthanc" / "orthanc.json"):
        orthanc_ms.append(float(json.loads(path.read_text())["KeepAliveTimeout"]) * 1000)
    template = (ROOT / "nginx" / "neuronova.conf.template").read_text()
    upstreams = [
        template.split("upstream neuronova_orthanc {", 1)[1].split("\n}", 1)[0],
        replicas_http_block([8043, 8044], listen="127.0.0.1:8042"),
    ]
    for upstream in upstreams:
        (value,) = re.findall(r"keepalive_timeout\s+(\w+);", upstream)
        assert _milliseconds(value) < min(orthanc_ms), upstream
