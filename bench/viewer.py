"""Benchmark (wiring, CLI): what a radiologist's browser pays to open the demo study in the viewer,
HTJ2K (as the plugin stores it) side by side with the same series stored uncompressed.

Run: ``.venv/bin/python bench/viewer.py`` (starts its own native stack, C-STOREs the demo study,
then an uncompressed copy of it: several minutes), or ``--url http://127.0.0.1:8080`` to measure
a running stack that already holds the demo study (``make up && make demo``); there the baseline
needs ``--baseline-study UID``, a copy of the demo study stored uncompressed (else it is skipped).

The baseline: the portal answers DICOMweb frames in their *stored* syntax whatever the Accept
asks (docs/portal.md, image gateway; Orthanc 1.10 cannot transcode HTJ2K), so "the same series
fetched uncompressed" through the authorised route means the same pixels stored as Explicit VR
Little Endian. After the demo study is stored (HTJ2K), the bench's own stack restarts its Orthanc
with ``NeuroNova.Transcode`` false and C-STOREs the generator's files again with fresh Study/
Series/SOP UIDs (pixels byte-identical). Both studies are read by the same viewer, through the
same nginx -> Django -> X-Accel -> Orthanc path; only the stored transfer syntax differs.

Through that path, in headless Chromium, it prints:
  (a) frame bytes the browser received for the displayed series: HTJ2K / the generator's
      uncompressed pixels (target <= 0.35), and the baseline's received bytes as a check;
  (b) time from opening the viewer URL to the first rendered image, and to the whole displayed
      series loaded (every image of the viewport's stack decoded in cornerstone's cache),
      HTJ2K vs uncompressed, with the ratio: "cold" in a fresh browser (the viewer's own code,
      tens of MB, is fetched too), then "warm", the same URL again in that browser (code from
      the HTTP cache; frames are "private, no-store", so every frame is fetched again).
Each round does that on both studies, alternating which goes first; medians are printed.
``--mbps 0,20`` repeats the rounds under Chromium's emulated link speeds (0 = unthrottled).
Timing starts once both studies' AI jobs have settled, so the
inference worker does not compete for the CPU.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from playwright.sync_api import CDPSession, Page
from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from tests.support.stack import RunningStack, native_stack  # noqa: E402
from tests.support.web import (  # noqa: E402
    chromium,
    generate_study,
    login,
    viewer_url,
)

SizeTarget = 0.35
DEMO_SEED = 424242
BASELINE_TAG = "uncompressed-baseline"

FIRST_IMAGE = """() => {
  const cs = window.cornerstone;
  if (!cs || !cs.getRenderingEngines) return false;
  return cs.getRenderingEngines().some(e => e.getViewports().some(vp => {
    const d = vp.getImageData ? vp.getImageData() : null;
    return !!(d && (d.scalarData || d.imageData));
  }));
}"""

SERIES_LOADED = """() => {
  const cs = window.cornerstone;
  if (!cs || !cs.getRenderingEngines) return null;
  for (const e of cs.getRenderingEngines()) for (const vp of e.getViewports()) {
    const ids = vp.getImageIds ? vp.getImageIds() : [];
    if (ids.length && ids.every(id => cs.cache.getImage(id))) {
      const meta = cs.metaData.get('generalSeriesModule', ids[0]);
      return {count: ids.length, series: meta ? meta.seriesInstanceUID : null};
    }
  }
  return null;
}"""


def uncompressed_pixel_bytes(folder: Path) -> dict[str, int]:
    """Pixel bytes per SeriesInstanceUID of the generator's uncompressed originals."""
    sizes: dict[str, int] = {}
    for path in folder.glob("*.dcm"):
        ds = pydicom.dcmread(path)
        sizes[ds.SeriesInstanceUID] = sizes.get(ds.SeriesInstanceUID, 0) + len(ds.PixelData)
    return sizes


def wait_for_study(url: str, study_uid: str, timeout_s: float = 300) -> None:
    token = api_token(url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"{url}/api/studies/{study_uid}", headers={"Authorization": f"Bearer {token}"}
        )
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=10) as response:
            if response.status == 200:
                return
        time.sleep(2)
    raise SystemExit(f"the portal never listed study {study_uid}")


def baseline_copy(files: list[Path], folder: Path) -> tuple[str, dict[str, str]]:
    """The generator's files with fresh Study/Series/SOP UIDs (pixels untouched).

    Returns the copy's StudyInstanceUID and {copy series UID: original series UID}."""
    folder.mkdir(parents=True, exist_ok=True)
    series_map: dict[str, str] = {}
    study_uid = ""
    for path in files:
        ds = pydicom.dcmread(path)
        original_series = str(ds.SeriesInstanceUID)
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            setattr(ds, keyword, generate_uid(entropy_srcs=[str(ds.get(keyword)), BASELINE_TAG]))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyDescription = f"{ds.get('StudyDescription', '')} {BASELINE_TAG}".strip()
        series_map[str(ds.SeriesInstanceUID)] = original_series
        study_uid = str(ds.StudyInstanceUID)
        ds.save_as(folder / path.name, enforce_file_format=True)
    return study_uid, series_map


def store_uncompressed(stack: RunningStack, folder: Path) -> None:
    """Restart the stack's Orthanc with NeuroNova.Transcode false, then C-STORE ``folder``.

    Only on the bench's own throw-away stack: the rendered config lives in its var folder."""
    # Only registered modalities store (docs/plugin.md): register the bench's calling AE first.
    registered = stack.cli("modality", "add", "NNBENCH", "--host", "127.0.0.1")
    if registered.returncode != 0:
        raise RuntimeError(registered.stdout + registered.stderr)
    config_path = stack.config.var_dir / "orthanc" / "orthanc.json"
    config = json.loads(config_path.read_text())
    config.setdefault("NeuroNova", {})["Transcode"] = False
    config_path.write_text(json.dumps(config, indent=2))
    stack.supervisor.stop_program("orthanc")
    stack.supervisor.start_program("orthanc")
    wait_for_orthanc(stack)
    subprocess.run(
        ["storescu", "-aec", stack.aet, "-aet", "NNBENCH", "127.0.0.1", str(stack.dicom_port)]
        + [str(path) for path in sorted(folder.glob("*.dcm"))],
        check=True,
        capture_output=True,
        timeout=600,
    )


def wait_for_orthanc(stack: RunningStack, timeout_s: float = 120) -> None:
    user, password = stack.orthanc_auth
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            stack.orthanc_url + "/system", headers={"Authorization": f"Basic {auth}"}
        )
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=5) as response:
            if response.status == 200:
                return
        time.sleep(1)
    raise SystemExit("Orthanc did not come back after the restart")


@contextlib.contextmanager
def target_stack(url: str | None, small: bool) -> Iterator[tuple[str, RunningStack | None]]:
    if url:
        yield url.rstrip("/"), None
        return
    with native_stack() as stack:
        stack.send_demo_study(seed=DEMO_SEED, small=small)
        yield stack.url, stack


def api_token(url: str) -> str:
    body = json.dumps({"username": "radiologist", "password": "radiologist-dev-pass"}).encode()
    request = urllib.request.Request(
        url + "/api/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access"])


def wait_for_ai_settled(url: str, study_uids: list[str], timeout_s: float = 600) -> str:
    """Wait until every study's AI job has ended (done/failed/skipped), so that inference does
    not compete with the viewer for the CPU while it is timed."""
    token = api_token(url)
    deadline = time.monotonic() + timeout_s
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        for uid in study_uids:
            request = urllib.request.Request(
                f"{url}/api/studies/{uid}", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                detail = json.loads(response.read())
            # GET /api/studies/{uid} = {study: {..., ai_status}, series, report, jobs}
            states[uid] = str(detail.get("study", {}).get("ai_status", "none"))
        if all(state in ("done", "failed", "skipped") for state in states.values()):
            return ", ".join(sorted(set(states.values())))
        time.sleep(3)
    return f"NOT settled after {timeout_s:.0f} s ({states}): timings may share the CPU with it"


@dataclass
class FrameBytes:
    """Frame bodies as Chromium's network stack received them, from DevTools Network events.

    Playwright's own view is not usable here: OHIF's loader reads each frame as a stream and
    Chromium then reports the request as failed (net::ERR_ABORTED) although the image decoded,
    so ``requestfinished``/``request.sizes()`` miss most frames and ``response.body()`` has
    nothing. ``Network.dataReceived`` counts every body chunk that arrived, whatever happened to
    the request afterwards; Content-Length is kept to show whether a body arrived whole."""

    urls: dict[str, str] = field(default_factory=dict)  # requestId -> URL
    content_type: dict[str, str] = field(default_factory=dict)  # URL -> Content-Type
    length: dict[str, int] = field(default_factory=dict)  # URL -> Content-Length
    received: dict[str, int] = field(default_factory=dict)  # URL -> body bytes received

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.dataReceived", self._data)

    def _response(self, event: dict[str, Any]) -> None:
        url = str(event["response"]["url"])
        if "/frames/" not in url or event["response"]["status"] != 200:
            return
        self.urls[event["requestId"]] = url
        headers = {k.lower(): str(v) for k, v in event["response"]["headers"].items()}
        self.content_type[url] = headers.get("content-type", "")
        if headers.get("content-length", "").isdigit():
            self.length[url] = int(headers["content-length"])
        self.received[url] = 0  # a URL fetched twice (thumbnail, then stack) counts once

    def _data(self, event: dict[str, Any]) -> None:
        url = self.urls.get(event["requestId"])
        if url is not None:
            self.received[url] += int(event["dataLength"])

    def of_series(self, series_uid: str) -> list[str]:
        return [u for u in self.received if f"/series/{series_uid}/" in u]

    def transfer_syntaxes(self, series_uid: str) -> list[str]:
        found = set()
        for url in self.of_series(series_uid):
            match = re.search(r'transfer-syntax="?([0-9.]+|\*)', self.content_type[url])
            found.add(match.group(1) if match else "")
        return sorted(found)

    def bytes_of(self, series_uid: str) -> int:
        return sum(self.received[u] for u in self.of_series(series_uid))

    def short_bodies(self, series_uid: str) -> int:
        """Frames whose received body is shorter than their Content-Length."""
        return sum(
            1 for u in self.of_series(series_uid) if self.received[u] < self.length.get(u, 0)
        )


@dataclass
class Round:
    cold: tuple[float, float]  # (first image, whole series) in a fresh browser: no HTTP cache
    warm: tuple[float, float]  # the same again in that browser: viewer code cached, frames not
    series: str
    frames: FrameBytes


def open_viewer(page: Page, url: str, study_uid: str) -> tuple[float, float, str]:
    start = time.perf_counter()
    page.goto(viewer_url(url, study_uid))
    page.wait_for_function(FIRST_IMAGE, timeout=180_000, polling="raf")
    first = time.perf_counter() - start
    loaded = page.wait_for_function(SERIES_LOADED, timeout=300_000, polling=100).json_value()
    whole = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    return first, whole, str(loaded["series"])


def one_round(url: str, study_uid: str, mbps: float) -> Round:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        login(page, url, "radiologist")
        cdp = context.new_cdp_session(page)
        frames = FrameBytes()
        frames.attach(cdp)
        cdp.send("Network.enable")
        if mbps:
            # Chromium's own link emulation (DevTools), both directions; no added latency.
            rate = mbps * 1e6 / 8
            conditions = {"offline": False, "latency": 0, "downloadThroughput": rate}
            cdp.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": rate})
        first, whole, series = open_viewer(page, url, study_uid)
        # Frames are answered "private, no-store": the second open refetches every frame,
        # while nginx's long-cached viewer code (tens of MB) now comes from the HTTP cache.
        page.goto("about:blank")
        warm_first, warm_whole, _ = open_viewer(page, url, study_uid)
        context.close()
    return Round((first, whole), (warm_first, warm_whole), series, frames)


NGINX_FRAME = re.compile(r'"GET (\S*/series/([0-9.]+)/\S*/frames/\S*) HTTP/[0-9.]+" 200 (\d+) ')


def nginx_frame_bytes(stack: RunningStack) -> dict[str, int]:
    """Server-side cross-check: body bytes nginx sent per series (each frame URL once)."""
    per_url: dict[str, tuple[str, int]] = {}
    log = stack.config.log_dir / "nginx-access.log"
    for match in NGINX_FRAME.finditer(log.read_text(errors="replace")):
        per_url[match.group(1)] = (match.group(2), int(match.group(3)))
    totals: dict[str, int] = {}
    for series, size in per_url.values():
        totals[series] = totals.get(series, 0) + size
    return totals


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s ({', '.join(f'{t:.2f}' for t in values)})"


def breakdown(small: bool) -> None:
    """Offline: where the viewer's bytes ratio comes from (no stack, no browser).

    The frames the viewer receives are the bare HTJ2K codestreams (single-part answers, no
    multipart framing, no JSON), so the codec-only ratio of the plugin's own encoder on the
    demo's pixels predicts (a). It is then set against bench/ingest.py's synthetic series."""
    import numpy as np  # noqa: PLC0415 - only this offline mode needs them
    from numpy.typing import NDArray  # noqa: PLC0415

    sys.path[:0] = [str(REPO / "orthanc-plugins")]
    from neuronova_plugin.transcode import encode_frame  # noqa: PLC0415

    from tests.support.orthanc import synthetic_mr_series  # noqa: PLC0415

    def ratio(frames: list[NDArray[np.uint16]]) -> tuple[float, int]:
        streams = [encode_frame(frame)[0] for frame in frames]
        header = streams[0].find(b"\xff\x90")  # first tile-part (SOT): end of the main header
        return sum(map(len, streams)) / sum(f.nbytes for f in frames), header

    with tempfile.TemporaryDirectory() as tmp:
        files = generate_study(Path(tmp) / "demo", seed=DEMO_SEED, small=small)
        series: dict[str, list[pydicom.Dataset]] = {}
        for path in files:
            ds = pydicom.dcmread(path)
            series.setdefault(str(ds.SeriesDescription), []).append(ds)
    print(
        f"demo seed {DEMO_SEED}, {'small' if small else 'demo'} grid, plugin encoder, codec only:"
    )
    for name, items in series.items():
        frames = [ds.pixel_array for ds in items]
        value, header = ratio(frames)
        first = items[0]
        corner = np.concatenate([f[:8, :8].ravel() for f in frames]).astype(np.float64)
        # Magnitude images: air is Rayleigh, mean = sigma * sqrt(pi / 2).
        sigma = corner.mean() / np.sqrt(np.pi / 2)
        print(
            f"  {name:12s} {first.Rows}x{first.Columns}x{len(frames)} BitsStored "
            f"{first.BitsStored}/{first.BitsAllocated}: HTJ2K/raw {value:.3f}; main header "
            f"{header} B/frame; air noise sigma ~{sigma:.1f} (Rayleigh fit of the corners)"
        )
    rng = np.random.default_rng(0)
    for sigma in (2.0, 16.4):
        air = np.hypot(rng.normal(0, sigma, (256, 256)), rng.normal(0, sigma, (256, 256)))
        value, _ = ratio([np.rint(air).astype(np.uint16)])
        print(f"  pure Rayleigh air, sigma {sigma:4.1f}: {value * 16:.2f} bit/pixel ({value:.3f})")
    print("bench/ingest.py's synthetic series (tests/support/orthanc.py), 40 slices:")
    for size in (256, 96):
        frames = [ds.pixel_array for ds in synthetic_mr_series(40, rows=size, columns=size, seed=1)]
        value, _ = ratio(frames)
        # The same slices with the air given the tissue's noise (sd 0.004 * 4095 ~ 16.4), as a
        # magnitude image's background has: Rayleigh with the tissue's sigma.
        noisy = []
        for frame in frames:
            air = frame < 8  # the generator's air: sd 2.0 around 0, clipped at 0
            out = frame.astype(np.float64)
            out[air] = np.hypot(rng.normal(0, 16.4, air.sum()), rng.normal(0, 16.4, air.sum()))
            noisy.append(np.rint(out).astype(np.uint16))
        rician, _ = ratio(noisy)
        print(
            f"  {size}x{size}: HTJ2K/raw {value:.3f} as generated (air sd 2.0); "
            f"{rician:.3f} with Rayleigh air of the tissue's sigma 16.4"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="a running stack holding the demo study (default: start one)")
    ap.add_argument(
        "--baseline-study", help="with --url: a copy of the demo study stored uncompressed"
    )
    ap.add_argument("--small", action="store_true", help="the tests' small demo grid")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--mbps",
        default="0",
        help="comma-separated link speeds to emulate in Chromium, 0 = unthrottled (default 0)",
    )
    ap.add_argument(
        "--breakdown", action="store_true", help="offline: explain the bytes ratio (no stack)"
    )
    args = ap.parse_args()
    if args.breakdown:
        breakdown(args.small)
        return

    with tempfile.TemporaryDirectory() as tmp:
        originals = Path(tmp) / "demo"
        files = generate_study(originals, seed=DEMO_SEED, small=args.small)
        study_uid = pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID
        raw = uncompressed_pixel_bytes(originals)
        copy_uid, copy_series = baseline_copy(files, Path(tmp) / "baseline")

        with target_stack(args.url, args.small) as (url, stack):
            wait_for_study(url, study_uid)
            baseline: str | None = args.baseline_study
            if stack is not None:
                store_uncompressed(stack, Path(tmp) / "baseline")
                baseline = copy_uid
            studies = [study_uid] + ([baseline] if baseline else [])
            for uid in studies:
                wait_for_study(url, uid)
            ai = wait_for_ai_settled(url, studies)
            load = os.getloadavg()
            speeds = [float(value) for value in args.mbps.split(",")]
            results: dict[float, tuple[list[Round], list[Round]]] = {}
            for mbps in speeds:
                htj2k_rounds: list[Round] = []
                base_rounds: list[Round] = []
                for index in range(args.rounds):
                    order = [(study_uid, htj2k_rounds), (baseline, base_rounds)]
                    for uid, into in order if index % 2 == 0 else order[::-1]:
                        if uid:
                            into.append(one_round(url, uid, mbps))
                results[mbps] = (htj2k_rounds, base_rounds)
            load_after = os.getloadavg()
            nginx_bytes = nginx_frame_bytes(stack) if stack is not None else None

    htj2k_rounds, base_rounds = results[speeds[0]]
    series_uid, frames = htj2k_rounds[-1].series, htj2k_rounds[-1].frames
    htj2k = frames.bytes_of(series_uid)
    ratio = htj2k / raw[series_uid]
    print(f"study {study_uid} ({'small' if args.small else 'demo'} grid) at {url}")
    print(
        f"AI jobs before timing: {ai}; load average {load[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print(
        f"displayed series {series_uid}: {len(frames.of_series(series_uid))} frames received "
        f"({frames.short_bodies(series_uid)} shorter than their Content-Length), "
        f"transfer syntaxes {frames.transfer_syntaxes(series_uid)}"
    )
    print(
        f"(a) bytes to the browser, HTJ2K frames {htj2k:,} / uncompressed pixels "
        f"{raw[series_uid]:,} = {ratio:.3f} (target <= {SizeTarget}: "
        f"{'met' if ratio <= SizeTarget else 'NOT met'})"
    )
    if nginx_bytes is not None:
        print(
            f"    nginx's $body_bytes_sent for the same frames: {nginx_bytes.get(series_uid, 0):,}"
        )
    if base_rounds:
        base_series, base_frames = base_rounds[-1].series, base_rounds[-1].frames
        if stack is None:
            match = "pixels not checked"
        elif copy_series.get(base_series) == series_uid:
            match = "the same pixels as the HTJ2K series"
        else:
            match = "a DIFFERENT series"
        base_bytes = base_frames.bytes_of(base_series)
        print(
            f"    baseline study {baseline}: series {base_series} ({match}), "
            f"transfer syntaxes {base_frames.transfer_syntaxes(base_series)}, "
            f"bytes received {base_bytes:,}; HTJ2K / received = {htj2k / base_bytes:.3f}"
        )
    for mbps, (htj2k_rounds, base_rounds) in results.items():
        link = f"{mbps:g} Mbit/s link" if mbps else "unthrottled loopback"
        for cache in ("cold", "warm"):
            label = f"{link}, {cache} (viewer code {'cached' if cache == 'warm' else 'not cached'})"
            ours = [getattr(r, cache) for r in htj2k_rounds]
            theirs = [getattr(r, cache) for r in base_rounds]
            for index, what in enumerate(("first image", "whole series loaded")):
                htj2k_s = [t[index] for t in ours]
                if not theirs:
                    print(f"(b) {label}, -> {what}: HTJ2K {summary(htj2k_s)}; no baseline")
                    continue
                base_s = [t[index] for t in theirs]
                print(
                    f"(b) {label}, -> {what}: HTJ2K {summary(htj2k_s)} vs uncompressed "
                    f"{summary(base_s)}; HTJ2K / uncompressed = "
                    f"{statistics.median(htj2k_s) / statistics.median(base_s):.2f}"
                )


if __name__ == "__main__":
    main()
