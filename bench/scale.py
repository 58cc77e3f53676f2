"""Benchmark (wiring, CLI): 1 vs 2 Orthanc replicas and 1 vs 2 inference workers, side by side.

Run: ``.venv/bin/python bench/scale.py [--slices 200] [--studies 6] [--rounds 2] [--json F]``
(about 5-10 minutes on 2 busy cores).

(a) Ingest: C-STORE of ``4 x slices`` 256x256 16-bit MR slices over four concurrent associations
    through the DICOM entry (nginx stream) into 1 or 2 replicas on one PostgreSQL index, with
    the plugin's HTJ2K re-encoding and verification (the production path; durable storage).
    Rounds alternate 1 and 2 replicas so the machine's drift hits both alike.
(b) AI: ``studies`` demo-sized studies (4 series x 40 slices of 96x96) queued first, then 1 or
    2 Celery inference workers (ONNX Runtime on the CPU, one thread each) started: jobs/hour
    from the first ``running`` to the last ``done`` event.

On this 2-core machine the replicas and the workers share the same two cores with PostgreSQL,
nginx, Redis and the sender: the ratios show the cost of the second replica or worker and that
nothing is lost or doubled, not how a second host would scale. docs/scaling.md reads them so.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orthanc-plugins"))

from neuronova_lab.synthetic.presets import PRESETS
from neuronova_lab.synthetic.study import SyntheticStudy

from tests.support.cluster import Cluster, running_cluster, send
from tests.support.orthanc import synthetic_mr_series


def ingest_round(replicas: int, slices: int, seed: int) -> dict[str, Any]:
    lanes = [synthetic_mr_series(slices, seed=seed + k) for k in range(4)]
    with (
        tempfile.TemporaryDirectory(prefix="nn-bench-scale-") as tmp,
        running_cluster(Path(tmp), replicas=replicas, workers=0, stable_age_s=30) as c,
    ):
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda lane: send(c.entry.port, lane), lanes))
        seconds = time.perf_counter() - started
        errors = [e for _, e in results if e]
        stored = _count(c)
    sent = sum(len(lane) for lane in lanes)
    return {
        "replicas": replicas,
        "instances": sent,
        "stored": stored,
        "errors": errors,
        "seconds": round(seconds, 2),
        "instances_per_s": round(sent / seconds, 2),
    }


def _count(cluster: Cluster) -> int:
    http, url = cluster.http()
    return int(http.get(f"{url}/statistics", timeout=30).json()["CountInstances"])


def ai_round(workers: int, studies: int, seed: int) -> dict[str, Any]:
    generated = [SyntheticStudy.generate(seed + k, PRESETS["demo"]()) for k in range(studies)]
    with (
        tempfile.TemporaryDirectory(prefix="nn-bench-scale-") as tmp,
        running_cluster(Path(tmp), replicas=1, workers=workers) as c,
    ):
        # Workers wait until every job is queued: the figure is theirs, not the sender's.
        for worker in c.workers:
            worker.stop()
        for study in generated:
            _, error = send(c.entry.port, study.all_datasets())
            if error:
                raise RuntimeError(error)
        deadline = time.monotonic() + 600
        while len(c.jobs()) < studies:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(c.jobs())} of {studies} jobs queued")
            time.sleep(1)
        for worker in c.workers:
            worker.start()
        c.wait_done([s.study_uid for s in generated], timeout_s=1800)
        events = c.events()
        jobs = len(c.jobs())
    starts = [_at(e) for e in events if e["state"] == "running"]
    ends = [_at(e) for e in events if e["state"] == "done"]
    seconds = max(ends) - min(starts)
    return {
        "workers": workers,
        "studies": studies,
        "jobs_published": jobs,
        "runs": len(starts),
        "done": len(ends),
        "seconds_first_run_to_last_done": round(seconds, 2),
        "jobs_per_hour": round(studies / seconds * 3600, 1),
    }


def _at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["at"]).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=200, help="slices per association (4)")
    parser.add_argument("--studies", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-ai", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result: dict[str, Any] = {"load_average_before": os.getloadavg(), "cores": os.cpu_count()}
    ingest: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for r in range(args.rounds):
        for replicas in (1, 2) if r % 2 == 0 else (2, 1):
            ingest[replicas].append(ingest_round(replicas, args.slices, 100 * r))
            print(json.dumps(ingest[replicas][-1]), flush=True)
    if args.rounds:
        rate = {n: sum(x["instances_per_s"] for x in r) / len(r) for n, r in ingest.items()}
        result["ingest"] = {
            "rounds": ingest,
            "instances_per_s_1_replica": round(rate[1], 2),
            "instances_per_s_2_replicas": round(rate[2], 2),
            "ratio_2_over_1": round(rate[2] / rate[1], 3),
        }
    if not args.skip_ai:
        ai = {w: ai_round(w, args.studies, 5000 + 100 * w) for w in (1, 2)}
        for run in ai.values():
            print(json.dumps(run), flush=True)
        result["ai"] = {
            "runs": ai,
            "ratio_2_over_1": round(ai[2]["jobs_per_hour"] / ai[1]["jobs_per_hour"], 3),
        }
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
