"""Test helper (wiring): the real chain with tight security limits, and what attacks on it need.

One chain (own Redis, Orthanc with the plugin, gunicorn, nginx) serves every door's security
test; limits are small so an attack reaches them in a few requests. Each test starts from an
empty portal cache (throttles, backoffs, revocations) so the tests do not depend on their order.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.portal import DEV_PASSWORDS, PortalChain, make_mr, portal_chain

# The portal's real client is nginx on 127.0.0.1; every other loopback address (127.0.0.2...)
# stands for an outside client (tests.support.portal.session_from).
HARDENED_ENV = {
    "PORTAL_LOGIN_RATE": "5/min",
    "PORTAL_LOGIN_FAILURES": "8",
    "PORTAL_NGINX_ADDRESSES": "127.0.0.1/32",
    "PORTAL_INTERNAL_NETWORKS": "127.0.0.1/32",
    "PORTAL_ADMIN_NETWORKS": "127.0.0.1/32",
    "PORTAL_UPLOAD_MAX_BYTES": str(24 * 1024 * 1024),
    "PORTAL_UPLOAD_MAX_ZIP_RATIO": "100",
    "PORTAL_REANALYZE_RATE": "2/hour",
    "JWT_SESSION_HOURS": "0.003",  # 10.8 s: the absolute session lifetime, reached in a test
    "PORTAL_DECISION_CACHE_SECONDS": "0",  # every request decides afresh: no timing in tests
    "PORTAL_REVOCATION_RECHECK_SECONDS": "0",
}
ASSIGNED_PATIENT = "NN-DEMO-0001"  # the dev clinician's patient (seed_dev_users)
UID_ROOT = "1.2.826.0.1.3680043.10.1311"


def new_uid() -> str:
    return f"{UID_ROOT}.{uuid.uuid4().int % 10**30}"


@dataclass
class Hardened:
    chain: PortalChain
    passwords: dict[str, str] = field(default_factory=lambda: dict(DEV_PASSWORDS))

    @property
    def url(self) -> str:
        return self.chain.url

    def login(self, username: str, password: str | None = None) -> requests.Response:
        return requests.post(
            f"{self.url}/api/auth/token",
            json={"username": username, "password": password or self.passwords[username]},
            timeout=120,
        )

    def tokens(self, username: str) -> dict[str, str]:
        answer = self.login(username)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens(username)['access']}"}

    def shell(self, code: str) -> str:
        """Run Python in the portal's Django (manage.py shell -c) against the chain's database."""
        return self.chain.manage("shell", "-c", code)

    def create_user(self, role: str, *, staff: bool = False) -> str:
        username = f"{role[:5]}-{uuid.uuid4().hex[:8]}"
        password = f"pw-{uuid.uuid4().hex}"
        self.shell(
            "from accounts.models import User\n"
            f"u = User(username={username!r}, role={role!r}, is_staff={staff!r},"
            f" is_superuser={staff and role == 'admin'!r})\n"
            f"u.set_password({password!r})\n"
            "u.save()\n"
        )
        self.passwords[username] = password
        return username

    def audit_rows(self, **filters: str) -> list[dict[str, str]]:
        """The audit log as the admin's CSV export gives it (through nginx)."""
        answer = requests.get(
            f"{self.url}/api/audit/export", params=filters, headers=self.bearer("admin"), timeout=60
        )
        assert answer.status_code == 200, answer.text
        return list(csv.DictReader(io.StringIO(answer.text)))

    def upload(
        self, files: list[tuple[str, bytes]], username: str = "clinician"
    ) -> requests.Response:
        return requests.post(
            f"{self.url}/api/pacs/upload",
            files=[("files", (name, data, "application/octet-stream")) for name, data in files],
            headers=self.bearer(username),
            timeout=300,
        )

    def metric(self, name: str) -> float:
        """Sum of a metric's samples as gunicorn's /api/metrics reports them (0 when absent)."""
        text = requests.get(f"{self.chain.django_url}/api/metrics", timeout=30).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                if head == name or head.startswith(name + "{"):
                    total += float(value)
        return total

    def gunicorn_pids(self) -> list[int]:
        """gunicorn's worker processes for this chain (children of its master)."""
        port = self.chain.django_url.rsplit(":", 1)[1]
        masters = [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and f"127.0.0.1:{port}" in _cmdline(int(entry.name))
        ]
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", ",".join(map(str, masters))],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        return [int(pid) for pid in children if "gunicorn" in _cmdline(int(pid))]


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def mr_file(patient_id: str = ASSIGNED_PATIENT, study_uid: str | None = None) -> tuple[str, bytes]:
    """One small MR slice of a new study (or of ``study_uid``); its study UID and bytes."""
    study = study_uid or new_uid()
    data, _ = make_mr(
        patient_id=patient_id, study_uid=study, series_uid=new_uid(), sop_uid=new_uid()
    )
    return study, data


@contextmanager
def hardened_chain() -> Iterator[Hardened]:
    # gunicorn's workers share their counters (one scrape sees both), as the native stack does
    with tempfile.TemporaryDirectory(prefix="nn-hardened-metrics-") as metrics_dir:
        env = {**HARDENED_ENV, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        with portal_chain(env=env) as chain:
            yield Hardened(chain)


def detail(answer: requests.Response) -> str:
    try:
        return str(answer.json())
    except json.JSONDecodeError:
        return answer.text[:300]
