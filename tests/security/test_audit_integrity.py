"""Door 8: the audit CSV export never hands a spreadsheet a formula, and when the audit trail
cannot be written the action it should record is refused (fail closed), counted and alerted."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.hardened import Hardened, detail, mr_file
from tests.support.portal import session_from

# What an unauthenticated caller can put in a cell: the username of a failed login (leading tabs
# and carriage returns are trimmed by the login forms before they are audited).
FORMULAS = ('=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)")


def test_audit_export_neutralises_spreadsheet_formulas(hardened: Hardened) -> None:
    for n, username in enumerate(FORMULAS):
        answer = session_from(f"127.0.0.{60 + n}").post(
            f"{hardened.url}/api/auth/token",
            json={"username": username, "password": "x"},
            timeout=60,
        )
        assert answer.status_code == 401, detail(answer)
    rows = [r for r in hardened.audit_rows() if r["action"] == "login" and r["allowed"] == "False"]
    exported = {r["username"] for r in rows}
    for username in FORMULAS:
        assert "'" + username in exported, (username, exported)
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r", row


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_every_formula_start_is_neutralised(cell: str) -> None:
    from audit.admin import neutralise  # noqa: PLC0415 - after Django is configured

    assert neutralise(cell) == "'" + cell
    assert neutralise("clinician") == "clinician"


@contextmanager
def audit_table_refuses_writes(hardened: Hardened) -> Iterator[None]:
    """A real database failure on the audit table only (an SQLite trigger), then removed."""
    database = Path(hardened.chain.env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(database, timeout=30) as db:
        db.execute(
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'audit storage unavailable'); END"
        )
    try:
        yield
    finally:
        with sqlite3.connect(database, timeout=30) as db:
            db.execute("DROP TRIGGER audit_down")


def test_a_failed_audit_write_refuses_the_action_and_is_counted(hardened: Hardened) -> None:
    study, data = mr_file()
    stored = hardened.upload([("seen.dcm", data)], username="radiologist")
    assert stored.status_code == 200, detail(stored)
    radiologist = hardened.tokens("radiologist")["access"]
    failures_before = hardened.metric("neuronova_audit_write_failures_total")
    with audit_table_refuses_writes(hardened):
        login = hardened.login("clinician")
        assert login.status_code == 503, detail(login)
        assert "access" not in login.text
        metadata = requests.get(
            f"{hardened.url}/api/pacs/dicom-web/studies/{study}/metadata",
            headers={"Authorization": f"Bearer {radiologist}"},
            timeout=60,
        )
        assert metadata.status_code == 503, metadata.status_code
        upload = requests.post(
            f"{hardened.url}/api/pacs/upload",
            files=[("files", ("blind.dcm", mr_file()[1], "application/dicom"))],
            headers={"Authorization": f"Bearer {radiologist}"},
            timeout=120,
        )
        assert upload.status_code == 503, detail(upload)
    assert hardened.metric("neuronova_audit_write_failures_total") >= failures_before + 3
    assert hardened.login("clinician").status_code == 200
