"""Helpers for the browser tests: Debian's Chromium through Playwright, probes into the viewer.

Chromium runs headless with SwiftShader WebGL2 (shared/notes/viewer.md): OHIF then renders images
and SEG overlays without a GPU. Every wait is on page state, never on time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Response, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support.deployables import python_path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("NEURONOVA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
]
HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K_SYNTAXES = ("1.2.840.10008.1.2.4.201", HTJ2K_RPCL, "1.2.840.10008.1.2.4.203")

# Reads the viewport canvases (what the user sees) and the displayed image's stored pixels.
VIEWPORT_PROBE = """
() => {
  const cs = window.cornerstone;
  if (!cs || !cs.getRenderingEngines) return [];
  const out = [];
  for (const engine of cs.getRenderingEngines()) {
    for (const vp of engine.getViewports()) {
      const canvas = vp.canvas;
      let screen = null;
      if (canvas && canvas.width && canvas.height) {
        const copy = document.createElement('canvas');
        copy.width = canvas.width; copy.height = canvas.height;
        const ctx = copy.getContext('2d');
        ctx.drawImage(canvas, 0, 0);
        const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
        let lit = 0, coloured = 0, distinct = new Set();
        for (let i = 0; i < px.length; i += 4) {
          const r = px[i], g = px[i + 1], b = px[i + 2];
          if (Math.max(r, g, b) > 24) lit++;
          if (Math.max(Math.abs(r - g), Math.abs(g - b), Math.abs(r - b)) > 40) coloured++;
          if (distinct.size < 64) distinct.add(r);
        }
        screen = {lit, coloured, levels: distinct.size, total: px.length / 4};
      }
      let stored = null;
      const data = vp.getImageData ? vp.getImageData() : null;
      const arr = data && (data.scalarData ||
        (data.imageData && data.imageData.getPointData().getScalars().getData()));
      if (arr && arr.length) {
        let min = Infinity, max = -Infinity;
        const step = Math.max(1, Math.floor(arr.length / 65536));
        for (let i = 0; i < arr.length; i += step) {
          min = Math.min(min, arr[i]);
          max = Math.max(max, arr[i]);
        }
        stored = {min, max, length: arr.length};
      }
      out.push({id: vp.id, screen, stored,
                imageId: vp.getCurrentImageId ? vp.getCurrentImageId() : null});
    }
  }
  return out;
}
"""

SEGMENTATION_PROBE = """
() => {
  const s = window.services;
  if (!s || !s.segmentationService) return null;
  const vpId = s.viewportGridService.getActiveViewportId();
  return s.segmentationService.getSegmentationRepresentations(vpId)
    .map(r => ({segmentationId: r.segmentationId, visible: r.visible !== false, type: r.type}));
}
"""


@dataclass
class FrameLog:
    """Every frame response the viewer received: its Content-Type and body size."""

    responses: list[tuple[str, str, int]] = field(default_factory=list)

    def record(self, response: Response) -> None:
        if "/frames/" not in response.url or response.status != 200:
            return
        try:
            size = len(response.body())
        except Exception:  # noqa: BLE001 - a navigation can discard a body; size unknown then
            size = -1
        self.responses.append((response.url, response.headers.get("content-type", ""), size))

    def transfer_syntaxes(self) -> set[str]:
        found = set()
        for _url, content_type, _size in self.responses:
            match = re.search(r'transfer-syntax="?([0-9.]+|\*)', content_type)
            found.add(match.group(1) if match else "")
        return found


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def login(page: Page, base_url: str, username: str, password: str | None = None) -> None:
    """Logs in through the portal's form (the path a user takes), landing on the worklist."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or f"{username}-dev-pass")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=who]")


def viewer_url(base_url: str, study_uid: str) -> str:
    return f"{base_url}/pacs-viewer/ai?StudyInstanceUIDs={study_uid}"


MIDDLE_SLICE = """
() => {
  for (const engine of window.cornerstone.getRenderingEngines()) {
    for (const vp of engine.getViewports()) {
      if (vp.getImageIds && vp.setImageIdIndex) {
        vp.setImageIdIndex(Math.floor(vp.getImageIds().length / 2));
      }
    }
  }
}
"""


def fail_on_csp(page: Page) -> None:
    errors: list[str] = getattr(page, "csp_errors", [])
    if errors:
        raise AssertionError(
            "the viewer's Content-Security-Policy blocked it (docs/web.md: the codecs need "
            f"'unsafe-eval' under /pacs-viewer/): {errors[0]}"
        )


def wait_for_rendered_image(page: Page, timeout_ms: int = 120_000) -> list[dict[str, Any]]:
    """Until a viewport shows real pixels of the series' middle slice (the edge slices of a brain
    MR can be nearly black): varied stored values and a lit, graded canvas. Fails at once, naming
    the cause, when the page's CSP refuses the codecs."""
    first_image = f"() => ({VIEWPORT_PROBE})().some(v => v.stored && v.stored.length > 0)"
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        fail_on_csp(page)
        try:
            page.wait_for_function(first_image, timeout=5_000, polling=500)
            break
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise
    fail_on_csp(page)
    page.evaluate(MIDDLE_SLICE)
    handle = page.wait_for_function(
        f"""() => {{
          const vps = ({VIEWPORT_PROBE})();
          const ok = vps.filter(v => v.stored && v.stored.max > v.stored.min && v.screen &&
                                     v.screen.lit > v.screen.total * 0.01 && v.screen.levels > 8);
          return ok.length ? vps : null;
        }}""",
        timeout=timeout_ms,
        polling=500,
    )
    value: list[dict[str, Any]] = handle.json_value()
    return value


def wait_for_overlay(page: Page, timeout_ms: int = 60_000) -> dict[str, Any]:
    """Until the active viewport has a visible SEG representation and coloured pixels on screen."""
    fail_on_csp(page)
    handle = page.wait_for_function(
        f"""() => {{
          const reps = ({SEGMENTATION_PROBE})() || [];
          const vps = ({VIEWPORT_PROBE})();
          const coloured = Math.max(0, ...vps.map(v => (v.screen ? v.screen.coloured : 0)));
          return reps.some(r => r.visible) && coloured > 0 ? {{reps, coloured}} : null;
        }}""",
        timeout=timeout_ms,
        polling=500,
    )
    value: dict[str, Any] = handle.json_value()
    return value


def generate_study(folder: Path, seed: int, *, small: bool = True) -> list[Path]:
    """A small synthetic brain MR study written as files (the demo generator, another seed)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "neuronova_lab.synthetic.demo",
            *(["--small"] if small else []),
            "--seed",
            str(seed),
            "--write",
            str(folder),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": python_path("lab")},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return sorted(folder.glob("*.dcm"))
