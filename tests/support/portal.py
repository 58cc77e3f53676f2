"""Test helpers for the Django portal: settings bootstrap, users, tokens, and a minimal nginx."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
import jwt
import numpy as np
import redis
import requests
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage
from requests.adapters import HTTPAdapter

from stack.render import substitute
from tests.support.deployables import python_path
from tests.support.orthanc import OrthancProcess, running_orthanc


def configure_django() -> None:
    """Point Django at the portal settings with a private var dir, a local cache and a test DB.

    Portal tests run on SQLite by default and on MariaDB/MySQL when PORTAL_TEST_DATABASE_URL is
    set (e.g. mysql://root@127.0.0.1:3306/test); pytest-django then makes a fresh test database
    with a per-run name and drops it afterwards.
    """
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    var_dir = tempfile.mkdtemp(prefix="nn-portal-test-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "neuronova_portal.settings"
    os.environ.setdefault("NEURONOVA_VAR", var_dir)
    os.environ["DATABASE_URL"] = os.environ.get(
        "PORTAL_TEST_DATABASE_URL", f"sqlite:///{var_dir}/portal.sqlite3"
    )
    os.environ["DATABASE_TEST_NAME"] = f"test_nn_{uuid.uuid4().hex[:10]}"
    os.environ.setdefault("PORTAL_CACHE_URL", "locmemcache://")
    os.environ.setdefault("PORTAL_LOGIN_RATE", "1000/min")
    os.environ.setdefault("PORTAL_CACHE_PREFIX", f"nn-test-{uuid.uuid4().hex[:8]}")
    django.setup()


DEV_PASSWORDS = {
    "admin": "admin-dev-pass",
    "radiologist": "radiologist-dev-pass",
    "clinician": "clinician-dev-pass",
    "clinician2": "clinician2-dev-pass",
}


def bad_tokens(*, valid_access: str, valid_refresh: str, signing_key: str) -> dict[str, str]:
    """Tokens that must all be refused, derived from a real access token's claims.

    `revoked` is not here: it needs a logout against the running portal.
    """
    claims = jwt.decode(valid_access, options={"verify_signature": False})
    now = int(time.time())

    def signed(**changes: object) -> str:
        return jwt.encode({**claims, **changes}, signing_key, algorithm="HS256")

    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {
        "expired": signed(exp=now - 60, iat=now - 700),
        "bad-signature": jwt.encode(claims, "not-the-key-" * 4, algorithm="HS256"),
        "alg-none": f"{header}.{body}.",
        "wrong-audience": signed(aud="someone-else"),
        "wrong-issuer": signed(iss="someone-else"),
        "refresh-as-access": valid_refresh,
        "garbage": "not.a.jwt",
    }


def make_mr(
    *, patient_id: str, study_uid: str, series_uid: str, sop_uid: str, size: int = 64, seed: int = 0
) -> tuple[bytes, np.ndarray]:
    """A small uncompressed 16-bit MR slice (the plugin re-encodes it to HTJ2K) and its pixels."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 4000, size=(size, size), dtype=np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = study_uid + ".9"
    ds.PatientID = patient_id
    ds.PatientName = "Test^" + patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.StudyDescription = "Brain MR (portal test)"
    ds.AccessionNumber = "ACC" + study_uid[-6:]
    ds.StudyID = "1"
    ds.Modality = "MR"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [0, 0, 0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [1, 1]
    ds.SliceThickness = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue(), pixels


class _SourceAddressAdapter(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def session_from(address: str) -> requests.Session:
    """A requests session whose connections leave from ``address`` (e.g. ``127.0.0.7``).

    Every 127.0.0.0/8 address is this machine's loopback, so nginx on 127.0.0.1 sees each test
    "client" as a distinct real peer (``$remote_addr``), which a header cannot fake.
    """
    session = requests.Session()
    adapter = _SourceAddressAdapter(address)
    session.mount("http://", adapter)
    return session


# ---- the real chain for integration tests: Orthanc (+plugin) ← nginx → gunicorn (portal) ----

REPO_ROOT = Path(__file__).resolve().parents[2]
PORTAL_DIR = REPO_ROOT / "django-portal"
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class PortalChain:
    url: str  # nginx, the public entry
    orthanc: OrthancProcess
    env: dict[str, str]
    workdir: Path
    django_url: str = ""  # gunicorn itself, for what nginx does not publish (/api/metrics)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(PORTAL_DIR / "manage.py"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    def flush_cache(self) -> None:
        """Empty the portal's cache (throttles, revocations) in this chain's own Redis."""
        url = self.env["PORTAL_CACHE_URL"].replace("rediscache://", "redis://", 1)
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()

    def token_pair(self, username: str) -> dict[str, str]:
        response = requests.post(
            f"{self.url}/api/auth/token",
            json={"username": username, "password": DEV_PASSWORDS[username]},
            timeout=120,  # PBKDF2 is slow on purpose, slower still on a loaded 2-core CI box
        )
        response.raise_for_status()
        return dict(response.json())


def render_nginx(
    workdir: Path,
    *,
    http_port: int,
    django_port: int,
    orthanc: OrthancProcess,
    public_raw_route: bool = False,
) -> Path:
    """The stack's real nginx templates, rendered for this chain (no web roots needed)."""
    for sub in ("run", "log", "nginx/tmp", "nginx/www"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    credentials = base64.b64encode(":".join(orthanc.auth).encode()).decode()
    values = {
        "NN_HTTP_PORT": f"127.0.0.1:{http_port}",
        "NN_DJANGO_UPSTREAM": f"127.0.0.1:{django_port}",
        "NN_ORTHANC_UPSTREAM": f"127.0.0.1:{orthanc.http_port}",
        "NN_ORTHANC_AUTH": credentials,
        "NN_ACCESS_LOG": f"{workdir}/log/nginx-access.log",
        "NN_SNIPPETS": str(REPO_ROOT / "nginx" / "snippets"),
        "NN_WWW": f"{workdir}/nginx/www",
        "NN_UPLOAD_MAX": "256m",
        "NN_VAR": str(workdir),
        "NN_STATIC": f"{workdir}/portal/static",  # the portal's STATIC_ROOT (NEURONOVA_VAR)
        "NN_USER_DIRECTIVE": "",
    }
    site = substitute((REPO_ROOT / "nginx" / "neuronova.conf.template").read_text(), values)
    if public_raw_route:
        # Benchmark baseline only: the raw-frame route without `internal`, reachable directly.
        start = site.index("    location /internal-orthanc-raw/ {")
        block = site[start : site.index("    }", start) + len("    }")]
        public = block.replace("/internal-orthanc-raw/", "/bench-direct-raw/")
        site = site.replace(block, block + "\n\n" + public.replace("internal;", ""))
    (workdir / "nginx" / "neuronova.conf").write_text(site)
    main = substitute((REPO_ROOT / "nginx" / "nginx.native.conf.template").read_text(), values)
    main = main.replace("worker_processes auto;", "worker_processes 2;")
    path = workdir / "nginx" / "nginx.conf"
    path.write_text(main)
    return path


# The worker layout stack/render.py starts (native stack); the benchmark can try others.
GUNICORN_OPTIONS = ("--workers", "2", "--worker-class", "gthread", "--threads", "8")


@contextmanager
def portal_chain(
    database_url: str | None = None,
    *,
    public_raw_route: bool = False,
    gunicorn_options: Sequence[str] = GUNICORN_OPTIONS,
    env: Mapping[str, str] | None = None,
    orthanc_plugin: bool = True,
    orthanc_overrides: Mapping[str, Any] | None = None,
) -> Iterator[PortalChain]:
    """Own Redis, Orthanc with the plugin, gunicorn and nginx, all on spare ports.

    ``env`` adds to (or overrides) the portal's environment, e.g. tighter limits for a test.
    ``orthanc_plugin`` and ``orthanc_overrides`` go to ``running_orthanc`` (``plugin``,
    ``overrides``), e.g. Orthanc's own test suite needs Lua and its private dictionary.
    """
    workdir = Path(tempfile.mkdtemp(prefix="nn-portal-it-"))
    workdir.chmod(0o755)  # nginx workers (nobody) write their temp files under it
    procs: list[subprocess.Popen[bytes]] = []
    try:
        redis_port = _free_port()
        redis_server = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
        )
        procs.append(redis_server)
        _wait_port(redis_port, redis_server, "redis")
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        with running_orthanc(
            workdir / "orthanc",
            plugin=orthanc_plugin,
            neuronova={"RedisUrl": redis_url},
            overrides=orthanc_overrides,
        ) as orthanc:
            django_port, http_port = _free_port(), _free_port()
            base_env = {
                **os.environ,
                "PYTHONPATH": python_path("django-portal"),
                "DJANGO_SETTINGS_MODULE": "neuronova_portal.settings",
                "NEURONOVA_ENV": "dev",
                "NEURONOVA_VAR": str(workdir),
                "DATABASE_URL": database_url or f"sqlite:///{workdir}/portal.sqlite3",
                "NEURONOVA_REDIS_URL": redis_url,
                "PORTAL_CACHE_URL": f"rediscache://127.0.0.1:{redis_port}/1",
                "PORTAL_LOGIN_RATE": "10000/min",
                "ORTHANC_URL": orthanc.url,
                "ORTHANC_USERNAME": orthanc.auth[0],
                "ORTHANC_PASSWORD": orthanc.auth[1],
                "INFERENCE_URL": f"http://127.0.0.1:{_free_port()}",
            }
            for name in ("DATABASE_TEST_NAME", "PORTAL_CACHE_PREFIX", "DJANGO_DEBUG"):
                base_env.pop(name, None)
            portal_env = {**base_env, **(env or {})}
            chain = PortalChain(
                f"http://127.0.0.1:{http_port}",
                orthanc,
                portal_env,
                workdir,
                django_url=f"http://127.0.0.1:{django_port}",
            )
            chain.manage("migrate", "--noinput", "-v", "0")
            chain.manage("seed_dev_users")
            gunicorn = subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"),
                    "neuronova_portal.wsgi",
                    "-b",
                    f"127.0.0.1:{django_port}",
                    *gunicorn_options,
                ],
                cwd=PORTAL_DIR,
                env=portal_env,
                stderr=(workdir / "gunicorn.log").open("wb"),
            )
            procs.append(gunicorn)
            _wait_port(django_port, gunicorn, "gunicorn")
            conf = render_nginx(
                workdir,
                http_port=http_port,
                django_port=django_port,
                orthanc=orthanc,
                public_raw_route=public_raw_route,
            )
            nginx = subprocess.Popen(
                ["nginx", "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL
            )
            procs.append(nginx)
            _wait_port(http_port, nginx, "nginx")
            try:
                yield chain
            finally:
                for proc in reversed(procs[1:]):
                    _stop(proc)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
