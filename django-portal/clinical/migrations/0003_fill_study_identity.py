"""Existing rows: every study claims its UID (the UID was unique until now), and rows mirrored
without an Orthanc id get the one Orthanc derives from PatientID and UIDs (authz.identity).

A row that an earlier version re-filed under the wrong patient cannot be told apart here: run
``manage.py sync_studies`` after upgrading, which mirrors every Orthanc study and flags the
later one of any two that share a UID (docs/portal.md, "Study identity and conflicts").
"""

from typing import Any

from authz.identity import orthanc_id
from django.db import migrations


def fill(apps: Any, schema_editor: Any) -> None:  # noqa: ANN401 - Django's migration API
    study_model = apps.get_model("clinical", "Study")
    series_model = apps.get_model("clinical", "Series")
    for study in study_model.objects.select_related("patient").iterator():
        if not study.orthanc_study_id:
            study.orthanc_study_id = orthanc_id(study.patient.patient_id, study.study_uid)
        study.claimed_uid = study.study_uid
        study.save(update_fields=["orthanc_study_id", "claimed_uid"])
    for series in series_model.objects.select_related("study__patient").iterator():
        if not series.orthanc_series_id:
            study = series.study
            series.orthanc_series_id = orthanc_id(
                study.patient.patient_id, study.study_uid, series.series_uid
            )
            series.save(update_fields=["orthanc_series_id"])


class Migration(migrations.Migration):
    dependencies = [("clinical", "0002_study_identity_and_conflicts")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
