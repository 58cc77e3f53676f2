"""The native restore drill: back up a stack holding a segmented study, destroy its state, restore
(`python -m stack backup|restore`), and every study, series, SEG, report, job and audit row is back
and a stored frame still decodes to the pixels that were sent."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import requests
from neuronova_lab.synthetic.dicom import series_datasets
from neuronova_lab.synthetic.phantom import render
from neuronova_lab.synthetic.presets import PRESETS

from tests.support.stack import RunningStack, native_stack

SEED = 424242  # the demo's study on the small grid (`demo --small`)
# The portal's rows, by model: primary keys as text.
_CENSUS = (
    "import json; from django.apps import apps; "
    "names = ['accounts.User', 'accounts.PatientAssignment', 'clinical.Patient', "
    "'clinical.Study', 'clinical.Series', 'clinical.AIJob', 'fhir_sync.FhirSyncState', "
    "'audit.AuditEvent']; "
    "print(json.dumps({n: sorted(str(pk) for pk in apps.get_model(n).objects.values_list("
    "'pk', flat=True)) for n in names}))"
)


def _census(stack: RunningStack) -> dict[str, Any]:
    result = stack.manage("shell", "-c", _CENSUS)
    assert result.returncode == 0, result.stderr
    rows: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    statistics = requests.get(
        f"{stack.orthanc_url}/statistics", auth=stack.orthanc_auth, timeout=10
    ).json()
    for key in ("CountPatients", "CountStudies", "CountSeries", "CountInstances"):
        rows[key] = statistics[key]
    return rows


def _settled_census(stack: RunningStack, timeout: float = 180) -> dict[str, Any]:
    """The census once the portal mirrors every series Orthanc has: the SEG's series reaches the
    portal when the study turns stable again after the SEG, a little after the report is done."""
    deadline = time.monotonic() + timeout
    rows = _census(stack)
    while len(rows["clinical.Series"]) != rows["CountSeries"] and time.monotonic() < deadline:
        time.sleep(2)
        rows = _census(stack)
    assert len(rows["clinical.Series"]) == rows["CountSeries"], rows
    return rows


def _middle_mr_frame_equals_the_sent_pixels(stack: RunningStack, study_uid: str) -> None:
    sent = {str(ds.SOPInstanceUID): ds for ds in series_datasets(render(SEED, PRESETS["small"]()))}
    session = requests.Session()
    session.auth = stack.orthanc_auth
    (study_id,) = session.post(
        f"{stack.orthanc_url}/tools/lookup", data=study_uid, timeout=10
    ).json()[:1]
    series = session.get(f"{stack.orthanc_url}/studies/{study_id['ID']}/series", timeout=10).json()
    modalities = {s["MainDicomTags"]["Modality"] for s in series}
    assert "SEG" in modalities, modalities
    mr = next(s for s in series if s["MainDicomTags"]["Modality"] == "MR")
    instance = mr["Instances"][len(mr["Instances"]) // 2]
    tags = session.get(f"{stack.orthanc_url}/instances/{instance}/simplified-tags", timeout=10)
    sop = tags.json()["SOPInstanceUID"]
    raw = session.get(f"{stack.orthanc_url}/instances/{instance}/frames/0/raw", timeout=10)
    assert raw.status_code == 200
    np.testing.assert_array_equal(imagecodecs.htj2k_decode(raw.content), sent[sop].pixel_array)


def test_backup_destroy_restore_brings_every_row_and_pixel_back() -> None:
    with native_stack() as stack:
        study_uid = stack.send_demo_study(seed=SEED)
        waited = stack.manage("ai_result", study_uid, "--wait", "300", timeout=400)
        assert waited.returncode == 0, waited.stdout + waited.stderr
        stack.token("radiologist")  # an audited login, so the audit table has rows to keep
        before = _settled_census(stack)
        assert before["clinical.AIJob"], before
        assert before["audit.AuditEvent"], before
        with tempfile.TemporaryDirectory(prefix="nn-native-backup-") as folder:
            target = Path(folder) / "backup"
            made = stack.cli("backup", str(target))
            assert made.returncode == 0, made.stdout + made.stderr
            # Disaster: the stack is gone with every file that held state.
            assert stack.cli("down").returncode == 0
            var = stack.config.var_dir
            for relative in ("orthanc", "ai", "portal", "redis"):
                shutil.rmtree(var / relative, ignore_errors=True)
            restored = stack.cli("restore", str(target), "--timeout", "300")
            assert restored.returncode == 0, restored.stdout + restored.stderr
        after = _census(stack)
        differences = {
            n: (rows, after.get(n)) for n, rows in before.items() if after.get(n) != rows
        }
        for name, rows in before.items():
            if name == "audit.AuditEvent":  # reads since the backup add rows; none may be missing
                assert set(rows) <= set(after[name]), name
            else:
                assert after[name] == rows, (name, differences)
        _middle_mr_frame_equals_the_sent_pixels(stack, study_uid)
