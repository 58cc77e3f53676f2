"""Issue 18's acceptance on one machine: two Orthanc replicas on one PostgreSQL index and one
storage, behind one DICOM entry and one HTTP upstream, two inference workers on one Redis.

Sized for CI's 2 cores: studies of 4 series x 50 slices of 48x48 (the AI needs the four MR
sequences; the pixels are small so ingest and inference stay seconds, the counts are the
issue's). The module runs in about 3-5 minutes here. It shows correctness (nothing lost, nothing
done twice), not throughput: bench/scale.py measures that.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator

import imagecodecs
import numpy as np
import pytest
from celery import Celery
from neuronova_contracts.signing import KEY_ENV, signed
from neuronova_lab.synthetic.phantom import axial_grid
from neuronova_lab.synthetic.study import SyntheticStudy
from pydicom.dataset import Dataset

from tests.support.cluster import SEGMENT, Cluster, running_cluster, send, send_all

HTJ2K_LOSSLESS = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202"}
SLICES = 50
GRID = axial_grid((SLICES, 48, 48), (2.9, 4.5, 4.5), np.zeros(3))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), replicas=2, workers=2) as c:
        yield c


def _studies(*seeds: int) -> list[SyntheticStudy]:
    return [SyntheticStudy.generate(seed, GRID) for seed in seeds]


def _study_id(cluster: Cluster, study_uid: str) -> str:
    http, url = cluster.http()
    hits = http.post(f"{url}/tools/lookup", data=study_uid).json()
    return str(next(h["ID"] for h in hits if h["Type"] == "Study"))


def _mr_instances(cluster: Cluster, study_uid: str) -> dict[str, str]:
    """SOP Instance UID -> Orthanc id of the study's MR instances."""
    http, url = cluster.http()
    out = {}
    for series in http.get(f"{url}/studies/{_study_id(cluster, study_uid)}/series").json():
        if series["MainDicomTags"].get("Modality") != "MR":
            continue
        for instance in http.get(f"{url}/series/{series['ID']}/instances").json():
            out[instance["MainDicomTags"]["SOPInstanceUID"]] = instance["ID"]
    return out


def _segs(cluster: Cluster, study_uid: str) -> list[str]:
    http, url = cluster.http()
    series = http.get(f"{url}/studies/{_study_id(cluster, study_uid)}/series").json()
    return [
        i for s in series if s["MainDicomTags"].get("Modality") == "SEG" for i in s["Instances"]
    ]


def _assert_htj2k_lossless(
    cluster: Cluster, originals: dict[str, Dataset], stored: dict[str, str]
) -> None:
    http, url = cluster.http()
    for sop, orthanc_id in stored.items():
        syntax = http.get(f"{url}/instances/{orthanc_id}/metadata/TransferSyntax").text
        assert syntax in HTJ2K_LOSSLESS, (sop, syntax)
        frame = http.get(f"{url}/instances/{orthanc_id}/frames/0/raw").content
        assert np.array_equal(imagecodecs.htj2k_decode(frame), originals[sop].pixel_array), sop


def _one_job_one_seg_each(cluster: Cluster, studies: list[SyntheticStudy]) -> None:
    uids = {s.study_uid for s in studies}
    jobs = Counter(j["study_uid"] for j in cluster.jobs() if j["study_uid"] in uids)
    assert jobs == Counter(uids), jobs
    for study in studies:
        states = Counter(e["state"] for e in cluster.events(study.study_uid))
        # One queued, one done; "running" once per run that began (a killed worker's run too).
        assert states["queued"] == 1, states
        assert states["done"] == 1, states
        assert states["failed"] == 0, states
        assert len(_segs(cluster, study.study_uid)) == 1


def test_800_stores_over_two_replicas_all_kept_htj2k_and_one_job_and_seg_per_study(
    cluster: Cluster,
) -> None:
    studies = _studies(1801, 1802, 1803, 1804)
    originals = {str(ds.SOPInstanceUID): ds for s in studies for ds in s.all_datasets()}
    # Association k carries series k of every study: 4 x 200 C-STOREs, every study spread over
    # all four associations and so over both replicas (round robin at the entry).
    lanes: list[list[Dataset]] = [[], [], [], []]
    for study in studies:
        for lane, series in zip(lanes, study.series.values(), strict=True):
            lane.extend(series)
    assert [len(lane) for lane in lanes] == [200] * 4
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda lane: send_all(cluster.entry.port, lane), lanes))
    assert sum(len(acked) for acked in results) == 800

    for replica in cluster.replicas:  # both replicas took part in the ingest
        metrics = replica.session().get(f"{replica.url}/neuronova/metrics").text
        seen = re.search(r"^neuronova_ingest_instances_seen_total ([0-9.]+)", metrics, re.M)
        assert seen, metrics[:500]
        assert float(seen.group(1)) > 0

    cluster.wait_done([s.study_uid for s in studies], timeout_s=600)
    stored: dict[str, str] = {}
    for study in studies:
        stored |= _mr_instances(cluster, study.study_uid)
    assert set(stored) == set(originals)  # 800 stored, none lost
    _assert_htj2k_lossless(cluster, originals, stored)
    time.sleep(5)  # each study is stable again after its SEG: no second job may follow
    _one_job_one_seg_each(cluster, studies)


def test_the_leading_replica_killed_mid_ingest_and_mid_publication_loses_nothing(
    cluster: Cluster,
) -> None:
    studies = _studies(1811, 1812)
    datasets = [ds for s in studies for ds in s.all_datasets()]
    leader = cluster.wait_leader()
    http, url = cluster.http()
    before = int(http.get(f"{url}/statistics").json()["CountInstances"])
    # Redis is down: the studies' jobs stay in the outbox, unpublished, when the leader dies.
    cluster.redis.stop()
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            lanes = [datasets[0::2], datasets[1::2]]
            futures = [pool.submit(send, cluster.entry.port, lane) for lane in lanes]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(f.done() for f in futures):
                http, url = cluster.http()
                count = int(http.get(f"{url}/statistics").json()["CountInstances"])
                if count >= before + len(datasets) // 2:
                    break
                time.sleep(0.2)
            leader.kill()
            results = [f.result() for f in futures]
        acknowledged = set().union(*(acked for acked, _ in results))
        assert len(acknowledged) > 0, results
        # The modality sends again what was not acknowledged; the entry skips the dead replica.
        rest = [ds for ds in datasets if str(ds.SOPInstanceUID) not in acknowledged]
        assert len(send_all(cluster.entry.port, rest)) == len(rest)
        survivor = cluster.wait_leader(timeout_s=60)
        assert survivor is not leader
        stored: dict[str, str] = {}
        for study in studies:
            stored |= _mr_instances(cluster, study.study_uid)
        assert acknowledged <= set(stored)  # nothing acknowledged was lost
        assert set(stored) == {str(ds.SOPInstanceUID) for ds in datasets}
        deadline = time.monotonic() + 120
        while len({j["study_uid"] for j in cluster.jobs()} & {s.study_uid for s in studies}) < 2:
            assert time.monotonic() < deadline, cluster.status(survivor)
            time.sleep(0.5)
        assert cluster.status(survivor)["unsent"] > 0
    finally:
        cluster.redis.start()
    cluster.wait_done([s.study_uid for s in studies], timeout_s=300)
    time.sleep(5)
    _one_job_one_seg_each(cluster, studies)


def test_a_worker_killed_mid_job_and_a_job_published_twice_still_give_one_run_and_seg(
    cluster: Cluster,
) -> None:
    (study,) = _studies(1821)
    assert len(send_all(cluster.entry.port, study.all_datasets())) == len(study.all_datasets())
    deadline = time.monotonic() + 180
    lease = None
    while time.monotonic() < deadline and lease is None:
        running = [e for e in cluster.events(study.study_uid) if e["state"] == "running"]
        if running:
            lease = cluster.redis.client().get(f"neuronova:job:{running[0]['job_id']}:lease")
        time.sleep(0.1)
    assert lease is not None, cluster.events(study.study_uid)
    (job,) = [j for j in cluster.jobs() if j["study_uid"] == study.study_uid]
    # The leader died between Redis taking the message and marking it sent: published again.
    publisher = Celery("duplicate", broker=cluster.redis.url, fixups=[])
    kwargs = signed(os.environ[KEY_ENV], SEGMENT, job)
    publisher.send_task(SEGMENT, kwargs=kwargs, queue="inference", task_id=job["job_id"])
    owner = lease.decode() if isinstance(lease, bytes) else str(lease)
    pid = int(owner.split(":")[1])
    (victim,) = [w for w in cluster.workers if pid in w.pids()]
    victim.stop(signal.SIGKILL)
    victim.start()
    cluster.wait_done([study.study_uid], timeout_s=300)
    time.sleep(10)  # the duplicate delivery comes and goes without a second run
    _one_job_one_seg_each(cluster, [study])
    runs = Counter(e["state"] for e in cluster.events(study.study_uid))["running"]
    assert runs == 2, cluster.events(study.study_uid)  # the killed run and the one that ended


def test_no_replica_logged_a_plugin_error(cluster: Cluster) -> None:
    for replica in cluster.replicas:
        assert "Traceback" not in replica.log_text()
