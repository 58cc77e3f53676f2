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
import json
import os
import re
import selectors
import shlex
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

# tests.support imports the plugin's config parser (tests/support/orthanc.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orthanc-plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.portal import GUNICORN_OPTIONS, PortalChain, make_mr, portal_chain

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


_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)


class _Connection:
    """One keep-alive client connection: a request in flight, its start time, bytes so far."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = bytearray()
        self.started = 0.0
        self.next_path = 0


def drive(
    url: str, paths: list[str], headers: dict[str, str], seconds: float, connections: int
) -> dict[str, float]:
    """Keep `connections` keep-alive connections busy for `seconds`, one request at a time each.

    One thread and a selector: the generator shares the machine's cores with nginx, gunicorn
    and Orthanc, so it must cost little per request (no thread switching, no header parsing
    beyond the status line and Content-Length). Latency is send → last body byte read.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 80)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests_raw = [
        f"GET {p} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n".encode() for p in paths
    ]
    latencies: list[float] = []
    errors = 0
    selector = selectors.DefaultSelector()
    pool = [_Connection(host, port) for _ in range(connections)]

    def send(conn: _Connection) -> None:
        request = requests_raw[conn.next_path % len(requests_raw)]
        conn.next_path += connections
        conn.buffer.clear()
        conn.started = time.perf_counter()
        conn.sock.sendall(request)  # a few hundred bytes: fits the socket buffer at once

    for index, conn in enumerate(pool):
        conn.next_path = index
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    began = time.perf_counter()
    stop_at = began + seconds
    for conn in pool:
        send(conn)
    active = len(pool)
    while active:
        for key, _ in selector.select(timeout=30):
            conn = key.data
            chunk = conn.sock.recv(262144)
            if not chunk:
                raise RuntimeError("server closed a keep-alive connection")
            conn.buffer += chunk
            head_end = conn.buffer.find(_HEAD_END)
            if head_end < 0:
                continue
            length = _CONTENT_LENGTH.search(conn.buffer, 0, head_end + 2)
            if length is None:
                raise RuntimeError("answer without Content-Length")
            if len(conn.buffer) < head_end + 4 + int(length.group(1)):
                continue
            now = time.perf_counter()
            latencies.append(now - conn.started)
            if conn.buffer[9:12] != b"200":
                errors += 1
            if now < stop_at:
                if _CLOSE.search(conn.buffer, 0, head_end + 2):  # nginx's keepalive_requests
                    selector.unregister(conn.sock)
                    conn.sock.close()
                    conn.sock = _Connection(host, port).sock
                    selector.register(conn.sock, selectors.EVENT_READ, conn)
                send(conn)
            else:
                selector.unregister(conn.sock)
                conn.sock.close()
                active -= 1
    elapsed = time.perf_counter() - began
    selector.close()
    merged = sorted(latencies)
    return {
        "requests": len(merged),
        "errors": errors,
        "rps": len(merged) / elapsed,
        "p50_ms": merged[len(merged) // 2] * 1000,
        "p95_ms": merged[int(len(merged) * 0.95)] * 1000,
        "p99_ms": merged[int(len(merged) * 0.99)] * 1000,
    }


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def cpu_seconds() -> dict[str, float]:
    """CPU time (user+system) so far of this process and every process it started, by name.

    Linux /proc only. This process is the load generator; its children are the chain (nginx,
    gunicorn, Orthanc, Redis). Differences between two calls show where a run's CPU went.
    """
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for pid in _descendants(os.getpid()):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name = (
            "load generator" if pid == os.getpid() else stat[stat.index("(") + 1 : stat.rindex(")")]
        )
        fields = stat.rsplit(")", 1)[1].split()
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def cpu_split(
    before: dict[str, float], after: dict[str, float], requests: float
) -> dict[str, float]:
    """Microseconds of CPU per request, per process name, over one measured run."""
    return {
        name: round((after[name] - before.get(name, 0.0)) / requests * 1e6, 1)
        for name in sorted(after)
        if after[name] - before.get(name, 0.0) > 0
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
    parser.add_argument(
        "--gunicorn",
        default=" ".join(GUNICORN_OPTIONS),
        help="gunicorn worker options (default: the native stack's layout)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()  # the machine may be shared: report how busy it was
    options = shlex.split(args.gunicorn)
    with portal_chain(public_raw_route=True, gunicorn_options=options) as chain:
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
        cpu_0 = cpu_seconds()
        via_django = drive(chain.url, authorised, auth_headers, args.seconds, args.connections)
        cpu_1 = cpu_seconds()
        django = django_times(log, offset)
        baseline = drive(chain.url, direct, {"Accept": "*/*"}, args.seconds, args.connections)
        cpu_2 = cpu_seconds()
    result = {
        "connections": args.connections,
        "gunicorn": args.gunicorn,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "seconds_per_route": args.seconds,
        "frame": f"{args.size}x{args.size} 16-bit MR, HTJ2K as stored by the plugin",
        "authorised_via_django": via_django,
        "direct_nginx_internal_route": baseline,
        "ratio_rps": via_django["rps"] / baseline["rps"],
        "django_time_per_request": django,
        "cpu_us_per_request_via_django": cpu_split(cpu_0, cpu_1, via_django["requests"]),
        "cpu_us_per_request_direct": cpu_split(cpu_1, cpu_2, baseline["requests"]),
        "targets": {"ratio_rps": ">= 0.15", "p95_ms": "<= 50"},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
