"""Wiring (benchmark): authorised frames through nginx → Django → X-Accel vs nginx → Orthanc.

Starts its own chain (Redis, Orthanc with the NeuroNova plugin, gunicorn with the portal, nginx
from the project's templates, plus a bench-only public copy of the raw-frame route), uploads a
small HTJ2K MR series, then drives both routes in the same run with N keep-alive connections:

    .venv/bin/python bench/authz.py [--seconds 10] [--connections 16] [--json out.json]

Reports requests/s, p50/p95 latency per route, their ratio, and Django's own time per request
(nginx's $upstream_response_time for the Django hop of each authorised request).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.portal import PortalChain, make_mr, portal_chain

ROOT = "1.2.826.0.1.3680043.10.999"
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"
URT = re.compile(r"urt=([0-9.]+)(?: : ([0-9.]+))?")


def load_series(chain: PortalChain, token: str, count: int, size: int) -> list[tuple[str, str]]:
    """Upload `count` slices; return (portal frame path, direct raw path) per instance."""
    study, series = f"{ROOT}.1", f"{ROOT}.1.1"
    files = []
    for n in range(count):
        data, _ = make_mr(
            patient_id="NN-BENCH",
            study_uid=study,
            series_uid=series,
            sop_uid=f"{series}.{n + 1}",
            size=size,
            seed=n,
        )
        files.append(("files", (f"{n}.dcm", data, "application/dicom")))
    answer = requests.post(
        f"{chain.url}/api/pacs/upload",
        files=files,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    answer.raise_for_status()
    session = chain.orthanc.session()
    paths = []
    for n in range(count):
        sop = f"{series}.{n + 1}"
        found = session.post(
            f"{chain.orthanc.url}/tools/find",
            json={"Level": "Instance", "Query": {"SOPInstanceUID": sop}},
            timeout=10,
        ).json()
        paths.append(
            (
                f"/api/pacs/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/1",
                f"/bench-direct-raw/instances/{found[0]}/frames/0/raw",
            )
        )
    return paths


def drive(
    url: str, paths: list[str], headers: dict[str, str], seconds: float, connections: int
) -> dict[str, float]:
    parts = urlsplit(url)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop_at = time.perf_counter() + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        n = index
        while time.perf_counter() < stop_at:
            path = paths[n % len(paths)]
            n += connections
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[index].append(time.perf_counter() - started)
            if response.status != 200:
                errors[index] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = sorted(x for per in latencies for x in per)
    return {
        "requests": len(merged),
        "errors": sum(errors),
        "rps": len(merged) / elapsed,
        "p50_ms": merged[len(merged) // 2] * 1000,
        "p95_ms": merged[int(len(merged) * 0.95)] * 1000,
    }


def django_times(access_log: Path, start_offset: int) -> dict[str, float]:
    times = []
    with access_log.open() as log:
        log.seek(start_offset)
        for line in log:
            if "/api/pacs/dicom-web/" not in line:
                continue
            match = URT.search(line)
            if match and match.group(2):  # two hops: Django, then Orthanc via X-Accel
                times.append(float(match.group(1)))
    times.sort()
    if not times:
        return {"samples": 0}
    return {
        "samples": len(times),
        "mean_ms": sum(times) / len(times) * 1000,
        "p50_ms": times[len(times) // 2] * 1000,
        "p95_ms": times[int(len(times) * 0.95)] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--instances", type=int, default=24)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with portal_chain(public_raw_route=True) as chain:
        token = chain.token_pair("radiologist")["access"]
        pairs = load_series(chain, token, args.instances, args.size)
        authorised = [p for p, _ in pairs]
        direct = [d for _, d in pairs]
        auth_headers = {"Authorization": f"Bearer {token}", "Accept": CORNERSTONE}
        # Warm both paths (gunicorn workers fill their decision and lookup caches).
        drive(chain.url, authorised, auth_headers, 2, args.connections)
        drive(chain.url, direct, {"Accept": "*/*"}, 2, args.connections)
        log = chain.workdir / "log" / "nginx-access.log"
        offset = log.stat().st_size
        via_django = drive(chain.url, authorised, auth_headers, args.seconds, args.connections)
        django = django_times(log, offset)
        baseline = drive(chain.url, direct, {"Accept": "*/*"}, args.seconds, args.connections)
    result = {
        "connections": args.connections,
        "seconds_per_route": args.seconds,
        "frame": f"{args.size}x{args.size} 16-bit MR, HTJ2K as stored by the plugin",
        "authorised_via_django": via_django,
        "direct_nginx_internal_route": baseline,
        "ratio_rps": via_django["rps"] / baseline["rps"],
        "django_time_per_request": django,
        "targets": {"ratio_rps": ">= 0.15", "p95_ms": "<= 50"},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
