"""The portal chain on MariaDB/MySQL (a fresh database per run), not only SQLite.

Uses PORTAL_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306) — the machine's MariaDB.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pymysql
import pytest
import requests

from tests.support.portal import PortalChain, make_mr, portal_chain

SERVER = os.environ.get("PORTAL_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
STUDY, SERIES = "1.2.826.0.1.3680043.10.777.1", "1.2.826.0.1.3680043.10.777.1.1"


def _connect() -> pymysql.Connection:
    parts = urlsplit(SERVER)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
    )


@pytest.fixture(scope="module")
def chain() -> Iterator[PortalChain]:
    name = f"nn_it_{uuid.uuid4().hex[:10]}"
    admin = _connect()
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        with portal_chain(database_url=f"{SERVER.rstrip('/')}/{name}") as running:
            yield running
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def test_upload_list_and_frames_on_mariadb(chain: PortalChain) -> None:
    sop = f"{SERIES}.1"
    data, _ = make_mr(patient_id="NN-DEMO-0001", study_uid=STUDY, series_uid=SERIES, sop_uid=sop)
    clinician = chain.token_pair("clinician")["access"]
    headers = {"Authorization": f"Bearer {clinician}"}
    upload = requests.post(
        f"{chain.url}/api/pacs/upload",
        files=[("files", ("a.dcm", data, "application/dicom"))],
        headers=headers,
        timeout=60,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["results"][0]["status"] == "stored"
    listed = requests.get(f"{chain.url}/api/studies", headers=headers, timeout=10).json()
    assert [row["study_uid"] for row in listed["results"]] == [STUDY]
    frame = requests.get(
        f"{chain.url}/api/pacs/dicom-web/studies/{STUDY}/series/{SERIES}/instances/{sop}/frames/1",
        headers=headers,
        timeout=10,
    )
    assert frame.status_code == 200
    assert "transfer-syntax=" in frame.headers["Content-Type"]
    other = chain.token_pair("clinician2")["access"]
    refused = requests.get(
        f"{chain.url}/api/studies/{STUDY}", headers={"Authorization": f"Bearer {other}"}, timeout=10
    )
    assert refused.status_code == 403
    assert "engine: mysql" in chain.manage("shell", "-c", _ENGINE_PROBE)


_ENGINE_PROBE = (
    "from django.db import connection; from audit.models import AuditEvent; "
    "print('engine:', connection.vendor, AuditEvent.objects.filter(action='upload').count())"
)
