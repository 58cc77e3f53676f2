"""Benchmark helper (adapter: headless Chromium through Playwright and DevTools): open one study in
the viewer, cold then warm, and measure what the browser saw.

Per open: wall-clock time from navigation to the first rendered image and to every image of the
displayed stack decoded; OHIF's own timers (``console.time``/``timeEnd`` of @ohif/core's log:
scriptToView, studyToDisplaySetsLoaded, studyToFirstImage, displaySetsToFirstImage); a page probe's
times, from the same study-start origin as studyToFirstImage, of the displayed image's first
full-field and full-resolution states (IMAGE_PROBE: OHIF's timer ends on the viewport's first
render, seen before any image, and the first image drawn may be a partial frame); bytes from
DevTools network events: every body chunk (``Network.dataReceived``) of the displayed series'
frame requests (200 and 206 answers), and every byte of the open that came over the network.
A slow link is either shaped by the kernel around the whole round (bench/link.py, the default)
or emulated here by DevTools (``emulate_mbps``).

The frame loading mode is chosen per run without touching the stack: an init script intercepts
the assignment of ``window.config`` (app-config.js) and sets ``neuronova.frames``. Routing the
request instead would disable Chromium's HTTP cache (Playwright does so while a route is set)
and with it the "warm" open.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, CDPSession, ConsoleMessage, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from tests.support.web import chromium, login, viewer_url  # noqa: E402

OHIF_TIMERS = (
    "scriptToView",
    "studyToDisplaySetsLoaded",
    "studyToFirstImage",
    "displaySetsToFirstImage",
)
_TIMER = re.compile(r"^(\w+): ([0-9.]+) ms")

# Truthy once a viewport holds an image: the page's clock then (ms from navigation start).
FIRST_IMAGE = """() => {
  const cs = window.cornerstone;
  if (!cs || !cs.getRenderingEngines) return false;
  const shown = cs.getRenderingEngines().some(e => e.getViewports().some(vp => {
    const d = vp.getImageData ? vp.getImageData() : null;
    return !!(d && (d.scalarData || d.imageData));
  }));
  return shown ? performance.now() : false;
}"""

# What each render drew, as OHIF's own first-image timer sees it: cornerstone's IMAGE_RENDERED
# (the event OHIF ends studyToFirstImage on, "preRender" skipped as OHIF does), caught in the
# capture phase on window (cornerstone dispatches it, not bubbling, on the viewport element). The
# page's clock (ms from navigation start) when a render first shows (1) any image, (2) a
# FULL-FIELD image, one whose decoded pixels cover every row and column of the image it says it is
# (a low-resolution HTJ2K stage counts: it spans the field; a partial uncompressed frame, the
# first streamed ~128 KB chunk cornerstone decodes as a SUBRESOLUTION image of a third of the
# rows, does not; nor does a replicate, a neighbouring frame's pixels), (3) the full-resolution
# image (FULL_RESOLUTION, or no status, and full field). ``states`` keeps the first distinct
# images rendered (status, pixels, rows, columns) and the first render of each viewport status
# without an image (OHIF's timer ends on such a render: docs/web.md), so a reader can check
# what each mark saw. An
# animation-frame poll was tried first: it saw the page 0.15-0.25 s after OHIF's timer (the main
# thread busy after the first render) and missed every partial frame.
IMAGE_PROBE = """() => {
  const marks = {}, states = [];
  window.__neuronovaImageMarks = marks;
  window.__neuronovaImageStates = states;
  const FULL_RESOLUTION = 8, SUBRESOLUTION = 6;
  let last = null;
  window.addEventListener('CORNERSTONE_IMAGE_RENDERED', (event) => {
    const now = performance.now();
    const detail = event.detail || {};
    const cs = window.cornerstone;
    if (detail.viewportStatus === 'preRender' || !cs || marks.fullResolution !== undefined) return;
    const engine = cs.getRenderingEngine && cs.getRenderingEngine(detail.renderingEngineId);
    const viewport = engine && engine.getViewport(detail.viewportId);
    const image = (viewport && viewport.csImage) || null;
    if (!image) {  // a render without an image (OHIF's timer ends on the first render of any kind)
      if (states.length < 12 && !states.some(s => s.viewportStatus === detail.viewportStatus)) {
        const data = viewport && viewport.getImageData ? viewport.getImageData() : null;
        states.push({t: now, viewportStatus: detail.viewportStatus || null, status: null,
          pixels: 0, rows: null, columns: null, imageData: !!(data && data.dimensions),
          imageId: viewport && viewport.getCurrentImageId ? !!viewport.getCurrentImageId() : null});
      }
      return;
    }
    if (image === last) return;
    last = image;
    const data = image.getPixelData ? image.getPixelData() : null;
    const pixels = data ? data.length : 0;
    const field = image.rows * image.columns * (image.numberOfComponents || 1);
    const status = image.imageQualityStatus;
    const fullField = pixels > 0 && pixels >= field && !(status < SUBRESOLUTION);
    if (marks.firstImage === undefined) marks.firstImage = now;
    if (fullField && marks.fullField === undefined) marks.fullField = now;
    if (fullField && (status === undefined || status === FULL_RESOLUTION)) {
      marks.fullResolution = now;
    }
    if (states.length < 12) states.push({t: now, viewportStatus: detail.viewportStatus || null,
      status: status === undefined ? null : status, pixels, rows: image.rows,
      columns: image.columns});
  }, true);
}"""
# Where IMAGE_PROBE's marks go in Open.images (seconds from OHIF's study timer start).
IMAGE_MARKS = {
    "firstImage": "probeFirstImage",
    "fullField": "fullFieldImage",
    "fullResolution": "fullResolutionImage",
}

# When OHIF starts and ends its console timers, on the page's clock (ms from navigation start).
TIMER_MARKS = """() => {
  const marks = {};
  window.__neuronovaTimerMarks = marks;
  const time = console.time, timeEnd = console.timeEnd;
  console.time = function (label) {
    marks[label + ':start'] = performance.now();
    return time.apply(console, arguments);
  };
  console.timeEnd = function (label) {
    marks[label + ':end'] = performance.now();
    return timeEnd.apply(console, arguments);
  };
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

DISPLAYED_SERIES = """() => {
  const cs = window.cornerstone;
  for (const e of cs.getRenderingEngines()) for (const vp of e.getViewports()) {
    const ids = vp.getImageIds ? vp.getImageIds() : [];
    if (ids.length) {
      const meta = cs.metaData.get('generalSeriesModule', ids[0]);
      return {count: ids.length, series: meta ? meta.seriesInstanceUID : null,
              cached: ids.filter(id => cs.cache.getImage(id)).length};
    }
  }
  return {count: 0, series: null, cached: 0};
}"""
# How long an open may take to decode the whole displayed stack before it counts as never done.
SERIES_TIMEOUT_S = int(os.environ.get("NEURONOVA_BENCH_SERIES_TIMEOUT_S", "600"))
# How long an open may take to show its first image before it counts as failed.
FIRST_IMAGE_TIMEOUT_S = int(os.environ.get("NEURONOVA_BENCH_FIRST_IMAGE_TIMEOUT_S", "300"))
# How long after the first image the bench waits for the displayed image at full resolution.
FULL_IMAGE_TIMEOUT_S = 60

# app-config.js assigns window.config once; this sets the viewer's `neuronova` options (frame
# loading mode, request order, decoder warm-up) on the way in.
FRAMES_MODE = """(options) => {
  let value;
  Object.defineProperty(window, 'config', {
    configurable: true,
    get() { return value; },
    set(v) { if (v) v.neuronova = Object.assign({}, v.neuronova, options); value = v; },
  });
}"""
# The viewer's start as OHIF/cornerstone do it (before the first-image work of docs/web.md):
# thumbnails and prefetch side by side with the displayed image, decoder loaded on first frame.
OHIF_START = {"order": "ohif", "warmDecoder": False}


@dataclass
class Request:
    """One request's DevTools times (Chromium's monotonic seconds) and URL."""

    url: str
    sent: float
    response: float = float("nan")
    done: float = float("nan")


@dataclass
class NetworkLog:
    """Bodies as Chromium's network stack received them (DevTools events).

    ``Network.dataReceived`` counts every body chunk that arrived, also for OHIF's streamed
    frame reads that Chromium then reports as aborted; ``loadingFinished`` gives each finished
    request's encoded bytes (headers included)."""

    urls: dict[str, str] = field(default_factory=dict)  # requestId -> frame URL
    frame_bytes: dict[str, int] = field(default_factory=dict)  # frame URL -> body bytes
    ranged: int = 0  # 206 answers
    content_types: set[str] = field(default_factory=set)
    chunks: dict[str, int] = field(default_factory=dict)  # requestId -> body bytes so far
    on_wire: dict[str, int] = field(default_factory=dict)  # requestId -> encoded bytes so far
    finished: dict[str, int] = field(default_factory=dict)  # requestId -> encoded total
    cached: set[str] = field(default_factory=set)  # requestIds answered from the HTTP cache
    requests: dict[str, Request] = field(default_factory=dict)  # requestId -> times (timeline)
    failed: dict[str, str] = field(default_factory=dict)  # requestId -> Chromium's errorText

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)
        cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))

    def reset(self) -> None:
        self.urls.clear()
        self.frame_bytes.clear()
        self.content_types.clear()
        self.chunks.clear()
        self.on_wire.clear()
        self.finished.clear()
        self.cached.clear()
        self.requests.clear()
        self.failed.clear()
        self.ranged = 0

    @property
    def encoded(self) -> int:
        """Every byte of the open that came over the network (cache hits count nothing)."""
        total = 0
        for request in {*self.chunks, *self.finished} - self.cached:
            if self.finished.get(request):
                total += self.finished[request]
            else:  # a streamed frame read Chromium reports as aborted: what arrived
                total += self.on_wire.get(request) or self.chunks.get(request, 0)
        return total

    def _sent(self, event: dict[str, Any]) -> None:
        url = str(event["request"]["url"])
        if event["requestId"] not in self.requests:  # a redirect keeps its first send time
            self.requests[event["requestId"]] = Request(url, float(event["timestamp"]))

    def _response(self, event: dict[str, Any]) -> None:
        if (times := self.requests.get(event["requestId"])) is not None:
            times.response = float(event["timestamp"])
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.cached.add(event["requestId"])
        url = str(response["url"])
        if "/frames/" not in url or response["status"] not in (200, 206):
            return
        self.urls[event["requestId"]] = url
        self.ranged += response["status"] == 206
        headers = {k.lower(): str(v) for k, v in response["headers"].items()}
        self.content_types.add(headers.get("content-type", ""))
        self.frame_bytes.setdefault(url, 0)  # both ranges of a frame add up under its URL

    def _data(self, event: dict[str, Any]) -> None:
        request = event["requestId"]
        # Bytes as they came over the wire (gzip as sent); Chromium often reports them only
        # when the request finishes (below), the body bytes here are then the fallback.
        self.chunks[request] = self.chunks.get(request, 0) + int(event["dataLength"])
        self.on_wire[request] = self.on_wire.get(request, 0) + int(
            event.get("encodedDataLength") or 0
        )
        url = self.urls.get(request)
        if url is not None:
            self.frame_bytes[url] += int(event["dataLength"])

    def _finished(self, event: dict[str, Any]) -> None:
        # A finished request's total (headers included) supersedes its chunks; streamed frame
        # reads that Chromium reports as aborted keep their chunks' count.
        self.finished[event["requestId"]] = int(event.get("encodedDataLength") or 0)
        if (times := self.requests.get(event["requestId"])) is not None:
            times.done = float(event["timestamp"])

    def _failed(self, event: dict[str, Any]) -> None:
        self.failed[event["requestId"]] = str(event.get("errorText", ""))

    def failed_frames(self) -> list[str]:
        """Frame requests that failed on the network, as ``errorText URL`` (a request the page
        cancelled itself, e.g. a streamed read it had enough of, says net::ERR_ABORTED)."""
        return [
            f"{error} {self.requests[request].url}"
            for request, error in self.failed.items()
            if request in self.requests and "/frames/" in self.requests[request].url
        ]

    def unfinished(self) -> list[str]:
        """Requests sent and neither finished nor failed, as ``answered?, URL``."""
        return [
            f"{'no answer' if math.isnan(r.response) else 'answered'} {r.url}"
            for request, r in self.requests.items()
            if math.isnan(r.done) and request not in self.failed
        ]

    def timeline(self, series_uid: str, page: dict[str, float]) -> dict[str, float]:
        """Where an open's first image went, seconds from the viewer page's request: the page's
        own marks (OHIF's timers, first image), the study's metadata requests, the displayed
        series' first frame request, the decoder's wasm. A request not seen is absent."""
        start = next((r.sent for r in self.requests.values() if "/pacs-viewer/ai" in r.url), None)
        if start is None:
            return {}
        out = {key: value / 1000 for key, value in page.items()}

        def span(name: str, chosen: list[Request]) -> None:
            if chosen:
                out[f"{name}:start"] = min(r.sent for r in chosen) - start
                out[f"{name}:end"] = max(r.done for r in chosen) - start

        first_image = out.get("firstImage", float("inf"))
        before = [r for r in self.requests.values() if r.sent - start < first_image]
        span("metadata", [r for r in before if r.url.split("?")[0].endswith("/metadata")])
        span(
            "qido",
            [
                r
                for r in before
                if "/dicom-web/" in r.url
                and "/metadata" not in r.url
                and "/frames/" not in r.url
                and "/rendered" not in r.url
                and "/thumbnail" not in r.url
            ],
        )
        frames = sorted(
            (
                r
                for r in self.requests.values()
                if f"/series/{series_uid}/" in r.url and "/frames/" in r.url
            ),
            key=lambda r: r.sent,
        )
        if frames:
            out["firstFrame:start"] = frames[0].sent - start
            out["firstFrame:response"] = frames[0].response - start
            out["firstFrame:end"] = frames[0].done - start
            out["framesBeforeFirstImage"] = sum(r.sent - start < first_image for r in frames)
        span("wasm", [r for r in before if r.url.split("?")[0].endswith(".wasm")])
        return out

    def series_bytes(self, series_uid: str) -> tuple[int, int]:
        """(frames, body bytes) of that series' frame URLs."""
        urls = [u for u in self.frame_bytes if f"/series/{series_uid}/" in u]
        return len(urls), sum(self.frame_bytes[u] for u in urls)


@dataclass(frozen=True)
class Open:
    first_s: float  # navigation -> first rendered image (wall clock)
    series_s: float  # navigation -> every image of the displayed stack decoded
    timers: dict[str, float]  # OHIF's own, seconds
    series: str
    frames: int
    frame_bytes: int
    ranged: int
    encoded_bytes: int
    timeline: dict[str, float] = field(default_factory=dict)  # NetworkLog.timeline
    failed_frames: list[str] = field(default_factory=list)  # NetworkLog.failed_frames
    # IMAGE_PROBE's marks, seconds from OHIF's study timer start (studyToFirstImage's origin):
    # probeFirstImage, fullFieldImage, fullResolutionImage; absent if not seen.
    images: dict[str, float] = field(default_factory=dict)
    image_states: list[dict[str, Any]] = field(default_factory=list)  # IMAGE_PROBE

    def value(self, name: str) -> float:
        """One of OHIF's timers or of ``images``, seconds (nan if not seen)."""
        return self.timers.get(name, self.images.get(name, float("nan")))

    @property
    def study_to_series_s(self) -> float:
        """From OHIF's study timer start to the whole stack decoded (boot time left out)."""
        study = self.timers.get("studyToFirstImage")
        return self.series_s - self.first_s + study if study is not None else float("nan")


@dataclass(frozen=True)
class Round:
    cold: Open  # a fresh browser: no HTTP cache
    warm: Open  # the same URL again in that browser: viewer code cached, frames not


@contextmanager
def _context(
    url: str, emulate_mbps: float, options: dict[str, object]
) -> Iterator[tuple[BrowserContext, Page, Any]]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.add_init_script(script=f"({FRAMES_MODE})({json.dumps(options)})")
        context.add_init_script(script=f"({TIMER_MARKS})()")
        context.add_init_script(script=f"({IMAGE_PROBE})()")
        page = context.new_page()
        login(page, url, "radiologist")
        cdp = context.new_cdp_session(page)
        network = NetworkLog()
        network.attach(cdp)
        cdp.send("Network.enable")
        if emulate_mbps:
            # Chromium's own link emulation (DevTools), both directions, no added latency.
            rate = emulate_mbps * 1e6 / 8
            conditions = {"offline": False, "latency": 0, "downloadThroughput": rate}
            cdp.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": rate})
        try:
            yield context, page, network
        finally:
            context.close()


def _open(page: Page, network: NetworkLog, url: str, study_uid: str) -> Open:
    timers: dict[str, float] = {}
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        match = _TIMER.match(message.text)
        if match and match.group(1) in OHIF_TIMERS:
            timers[match.group(1)] = float(match.group(2)) / 1000
        elif message.type == "error":
            errors.append(message.text[:300])

    network.reset()
    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"[:300]))
    start = time.perf_counter()
    page.goto(viewer_url(url, study_uid))
    try:
        first_image_ms = float(
            page.wait_for_function(
                FIRST_IMAGE, timeout=FIRST_IMAGE_TIMEOUT_S * 1000, polling="raf"
            ).json_value()
        )
    except PlaywrightTimeoutError:
        # What the open was waiting on, for the bench's FAILED line.
        waiting = network.unfinished()
        raise RuntimeError(
            f"no first image in {FIRST_IMAGE_TIMEOUT_S} s; {len(waiting)} requests unfinished "
            f"{waiting[:8]}; failed {list(network.failed.values())[:8]}; "
            f"console errors {errors[-5:]}"
        ) from None
    first = time.perf_counter() - start
    # The probe's full-resolution mark, before a short series window can leave the page (absent
    # from Open.images if it does not come).
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(
            "() => (window.__neuronovaImageMarks || {}).fullResolution !== undefined",
            timeout=FULL_IMAGE_TIMEOUT_S * 1000,
            polling=100,
        )
    try:
        loaded = page.wait_for_function(
            SERIES_LOADED, timeout=SERIES_TIMEOUT_S * 1000, polling=100
        ).json_value()
        whole = time.perf_counter() - start
        page.wait_for_load_state("networkidle")
    except PlaywrightTimeoutError:  # kept as "never loaded" (nan), with what did arrive
        loaded = page.evaluate(DISPLAYED_SERIES)
        whole = float("nan")
    page.remove_listener("console", console)
    series = str(loaded["series"])
    frames, frame_bytes = network.series_bytes(series)
    marks = page.evaluate("() => window.__neuronovaTimerMarks || {}")
    images, image_states = page.evaluate(
        "() => [window.__neuronovaImageMarks || {}, window.__neuronovaImageStates || []]"
    )
    study_start = marks.get("studyToFirstImage:start")
    seen = {
        IMAGE_MARKS[key]: (ms - study_start) / 1000
        for key, ms in images.items()
        if key in IMAGE_MARKS and study_start is not None
    }
    # Retry rounds for frames whose fetch failed (ohif-build/src/mode/prefetchRetry.ts).
    marks["prefetchRetries"] = 1000 * page.evaluate("() => window.__neuronovaPrefetchRetries || 0")
    timeline = network.timeline(series, {**marks, "firstImage": first_image_ms})
    opened = Open(
        first,
        whole,
        timers,
        series,
        frames,
        frame_bytes,
        network.ranged,
        network.encoded,
        timeline,
        network.failed_frames(),
        seen,
        image_states,
    )
    page.goto("about:blank")
    return opened


def one_round(
    url: str, study_uid: str, emulate_mbps: float, frames: str, ohif_start: bool = False
) -> Round:
    """Cold then warm open of the study, ``frames`` 'progressive' or 'whole'; ``ohif_start``:
    OHIF's own request order and decoder start (OHIF_START) instead of the shipped ones;
    ``emulate_mbps``: DevTools' emulated link (0: none, e.g. inside a kernel link)."""
    options = {"frames": frames, **(OHIF_START if ohif_start else {})}
    with _context(url, emulate_mbps, options) as (_, page, network):
        cold = _open(page, network, url, study_uid)
        warm = _open(page, network, url, study_uid)
    return Round(cold, warm)
