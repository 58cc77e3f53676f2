"""Benchmark (wiring, CLI): what a radiologist's browser pays to open the demo study in the viewer.

Run: ``.venv/bin/python bench/viewer.py`` (starts its own native stack, C-STOREs the demo study:
a few minutes), or ``--url http://127.0.0.1:8080`` to measure a running stack that already holds
the demo study (``make up && make demo``).

Through the authorised path (nginx -> Django -> X-Accel -> Orthanc) in headless Chromium, it prints:
  (a) frame bytes the browser received for the displayed series (HTJ2K, as stored by the plugin)
      / the same series' pixel bytes uncompressed (the generator's Explicit VR Little Endian
      originals, same seed, so the same UIDs); target <= 0.35;
  (b) time from opening the viewer URL to the first rendered image, and to the whole displayed
      series loaded (every image of the viewport's stack decoded in cornerstone's cache).
Rounds open the viewer in a fresh browser context each (no HTTP cache); medians are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydicom

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from tests.support.stack import native_stack  # noqa: E402
from tests.support.web import (  # noqa: E402
    FrameLog,
    chromium,
    generate_study,
    login,
    viewer_url,
)

SizeTarget = 0.35
DEMO_SEED = 424242

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
    body = json.dumps({"username": "radiologist", "password": "radiologist-dev-pass"}).encode()
    request = urllib.request.Request(
        url + "/api/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token = json.loads(response.read())["access"]
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


@contextlib.contextmanager
def target_stack(url: str | None, small: bool) -> Iterator[str]:
    if url:
        yield url.rstrip("/")
        return
    with native_stack() as stack:
        args = ["--port", str(stack.dicom_port), "--aet", stack.aet, "--seed", str(DEMO_SEED)]
        subprocess.run(
            [sys.executable, "-m", "neuronova_inference.synthetic.demo", *args]
            + (["--small"] if small else []),
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO / "inference")},
            check=True,
            capture_output=True,
            timeout=600,
        )
        yield stack.url


def one_round(url: str, study_uid: str) -> tuple[float, float, str, FrameLog]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        login(page, url, "radiologist")
        frames = FrameLog()
        page.on("response", frames.record)
        start = time.perf_counter()
        page.goto(viewer_url(url, study_uid))
        page.wait_for_function(FIRST_IMAGE, timeout=180_000, polling="raf")
        first = time.perf_counter() - start
        loaded = page.wait_for_function(SERIES_LOADED, timeout=300_000, polling=100).json_value()
        whole = time.perf_counter() - start
        page.wait_for_load_state("networkidle")
        context.close()
    return first, whole, str(loaded["series"]), frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="a running stack holding the demo study (default: start one)")
    ap.add_argument("--small", action="store_true", help="the tests' small demo grid")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        originals = Path(tmp) / "demo"
        files = generate_study(originals, seed=DEMO_SEED, small=args.small)
        study_uid = pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID
        raw = uncompressed_pixel_bytes(originals)

    with target_stack(args.url, args.small) as url:
        wait_for_study(url, study_uid)
        rounds = [one_round(url, study_uid) for _ in range(args.rounds)]

    firsts = [r[0] for r in rounds]
    wholes = [r[1] for r in rounds]
    series_uid, frames = rounds[-1][2], rounds[-1][3]
    # One size per frame URL: the series' thumbnail may fetch a frame the stack fetches again.
    sizes = {u: size for u, _ct, size in frames.responses if f"/series/{series_uid}/" in u}
    htj2k = sum(sizes.values())
    syntaxes = sorted(frames.transfer_syntaxes())
    ratio = htj2k / raw[series_uid]
    print(f"study {study_uid} ({'small' if args.small else 'demo'} grid) at {url}")
    print(f"displayed series {series_uid}: {len(sizes)} frames, transfer syntaxes {syntaxes}")
    print(
        f"(a) bytes to the browser, HTJ2K frames {htj2k:,} / uncompressed pixels "
        f"{raw[series_uid]:,} = {ratio:.3f} (target <= {SizeTarget}: "
        f"{'met' if ratio <= SizeTarget else 'NOT met'})"
    )
    print(
        f"(b) viewer URL -> first image: median {statistics.median(firsts):.2f} s "
        f"(rounds {', '.join(f'{t:.2f}' for t in firsts)}); -> whole series loaded: median "
        f"{statistics.median(wholes):.2f} s (rounds {', '.join(f'{t:.2f}' for t in wholes)})"
    )


if __name__ == "__main__":
    main()
