"""The AI pipeline against real processes: C-STORE -> change log -> Redis -> worker -> SEG.

Studies are small (16 slices of 48x48 per series). Happy path and refusals are sent together and
then awaited, so the module's wall time is about one study's; the resilience tests come last
because they stop and restart the shared processes.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import time
from io import BytesIO
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from neuronova_lab.synthetic.phantom import axial_grid
from neuronova_lab.synthetic.study import SyntheticStudy
from pydicom.uid import CTImageStorage

from tests.integration.ai.conftest import Pipeline

GRID = axial_grid((16, 48, 48), (9.0, 4.5, 4.5), np.zeros(3))


def _study(seed: int) -> SyntheticStudy:
    return SyntheticStudy.generate(seed, GRID)


def _by_description(study: SyntheticStudy, description: str) -> str:
    return next(k for k, v in study.series.items() if v[0].SeriesDescription == description)


@pytest.fixture(scope="module")
def sent(pipeline: Pipeline) -> dict[str, str]:
    """Send the happy-path study and every refusal case once; return their StudyInstanceUIDs."""
    cases: dict[str, SyntheticStudy] = {}
    cases["ok"] = _study(201)

    missing = _study(202)
    del missing.series[_by_description(missing, "AX T2 FLAIR")]
    cases["missing"] = missing

    gap = copy.deepcopy(_study(203))
    del gap.series[_by_description(gap, "AX T2 TSE")][7]
    cases["gap"] = gap

    corrupt = copy.deepcopy(_study(204))
    victim = corrupt.series[_by_description(corrupt, "AX T1 SE +C")][5]
    victim.PixelData = victim.PixelData[: len(victim.PixelData) // 3]
    cases["corrupt"] = corrupt

    ct = copy.deepcopy(_study(205))
    for ds in ct.all_datasets():
        ds.Modality = "CT"
        ds.SOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    cases["ct"] = ct

    for name, study in cases.items():
        pipeline.send(study.all_datasets(), name)
    return {name: study.study_uid for name, study in cases.items()}


def test_stable_study_gets_a_valid_seg_and_job_events(
    pipeline: Pipeline, sent: dict[str, str], tmp_path: Path
) -> None:
    final = pipeline.wait_final(sent["ok"])
    assert final["state"] == "done", final
    states = [e["state"] for e in pipeline.events(sent["ok"])]
    assert states[0] == "queued"
    assert "running" in states
    assert set(final["volumes_ml"]) == {
        "Necrotic tumour core",
        "Peritumoural oedema",
        "Enhancing tumour",
    }
    (seg_id,) = pipeline.segs(sent["ok"])
    raw = pipeline.http().get(f"{pipeline.orthanc.url}/instances/{seg_id}/file").content
    seg = hd.seg.segread(BytesIO(raw))
    assert seg.SeriesInstanceUID == final["seg_series_uid"]
    assert seg.SegmentationType == "BINARY"
    path = tmp_path / "seg.dcm"
    path.write_bytes(raw)
    check = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    errors = [
        line for line in (check.stdout + check.stderr).splitlines() if line.startswith("Error")
    ]
    assert errors == []


@pytest.mark.parametrize(
    ("case", "state", "reason"),
    [
        ("missing", "skipped", "missing required sequence(s): FLAIR"),
        ("ct", "skipped", "not a MR study (modalities: CT)"),
        ("gap", "failed", "T2 series: slice gap"),
        ("corrupt", "failed", "T1c series: instance"),
    ],
)
def test_refusals_end_with_a_reason_and_no_seg(
    pipeline: Pipeline, sent: dict[str, str], case: str, state: str, reason: str
) -> None:
    final = pipeline.wait_final(sent[case])
    assert final["state"] == state
    assert reason in final["reason"]
    assert pipeline.segs(sent[case]) == []


def test_reanalysis_queues_a_new_job_and_replaces_the_seg(
    pipeline: Pipeline, sent: dict[str, str]
) -> None:
    pipeline.wait_final(sent["ok"])
    study = pipeline.study_id(sent["ok"])
    answer = (
        pipeline.http().post(f"{pipeline.orthanc.url}/neuronova/studies/{study}/reanalyze").json()
    )
    assert answer["state"] == "queued"
    assert answer["job_id"].endswith(":r1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = [
            e
            for e in pipeline.events(sent["ok"])
            if e["job_id"] == answer["job_id"] and e["state"] == "done"
        ]
        if done:
            break
        time.sleep(0.5)
    assert done, pipeline.events(sent["ok"])
    assert len(pipeline.segs(sent["ok"])) == 1


def test_redis_down_when_stable_then_the_job_runs_when_it_is_back(pipeline: Pipeline) -> None:
    study = _study(206)
    pipeline.redis.stop()
    try:
        pipeline.send(study.all_datasets(), "redis-down")
        status_url = f"{pipeline.orthanc.url}/neuronova/ai/status"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = pipeline.http().get(status_url).json()
            if status["unsent"] >= 2 and status["last_error"]:
                break
            time.sleep(0.5)
        assert status["unsent"] >= 2, status
    finally:
        pipeline.redis.start()
    final = pipeline.wait_final(study.study_uid, timeout_s=240)
    assert final["state"] == "done"
    assert len(pipeline.segs(study.study_uid)) == 1


def test_killed_worker_job_is_redelivered_and_gives_exactly_one_seg(pipeline: Pipeline) -> None:
    study = _study(207)
    pipeline.send(study.all_datasets(), "kill")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(e["state"] == "running" for e in pipeline.events(study.study_uid)):
            break
        time.sleep(0.1)
    pipeline.worker.stop(signal.SIGKILL)
    pipeline.worker.start()
    final = pipeline.wait_final(study.study_uid, timeout_s=240)
    assert final["state"] == "done"
    assert len(pipeline.segs(study.study_uid)) == 1


def test_orthanc_restart_mid_ingest_loses_and_doubles_nothing(pipeline: Pipeline) -> None:
    study = _study(208)
    datasets = study.all_datasets()
    half = len(datasets) // 2
    pipeline.send(datasets[:half], "restart-a")
    pipeline.orthanc.restart()
    pipeline.send(datasets[half:], "restart-b")
    # If the restart took longer than StableAge the first half may be decided (skipped) on its
    # own, exactly as Orthanc would without a restart; the complete study must get its one job.
    final = pipeline.wait_final(study.study_uid, timeout_s=240, states=frozenset({"done"}))
    assert final["state"] == "done"
    time.sleep(3)  # a second StableStudy (after the SEG arrives) must not queue another job
    jobs = {e["job_id"] for e in pipeline.events(study.study_uid) if e["state"] == "queued"}
    assert len(jobs) == 1
    assert len(pipeline.segs(study.study_uid)) == 1
