"""The clinical migrations move a mirror made before study identity over (0001 -> 0004)."""

from __future__ import annotations

import pytest
from authz.identity import orthanc_id
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("clinical", "0001_initial")]
AFTER = [("clinical", "0004_require_study_identity")]


def test_existing_rows_claim_their_uid_and_get_orthanc_ids() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    patient = old.get_model("clinical", "Patient").objects.create(patient_id="P1")
    study_model = old.get_model("clinical", "Study")
    known = study_model.objects.create(
        study_uid="1.2.1", orthanc_study_id="o-known", patient=patient
    )
    bare = study_model.objects.create(study_uid="1.2.2", orthanc_study_id=None, patient=patient)
    old.get_model("clinical", "Series").objects.create(
        study=bare, series_uid="1.2.2.1", orthanc_series_id=""
    )
    executor = MigrationExecutor(connection)  # a fresh graph, as `manage.py migrate` would
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    studies = {s.study_uid: s for s in new.get_model("clinical", "Study").objects.all()}
    assert studies["1.2.1"].orthanc_study_id == "o-known"
    assert studies["1.2.2"].orthanc_study_id == orthanc_id("P1", "1.2.2")
    assert {s.claimed_uid for s in studies.values()} == {"1.2.1", "1.2.2"}
    assert all(s.conflict_with_id is None for s in studies.values())
    series = new.get_model("clinical", "Series").objects.get(series_uid="1.2.2.1")
    assert series.orthanc_series_id == orthanc_id("P1", "1.2.2", "1.2.2.1")
    assert known.pk == studies["1.2.1"].pk
