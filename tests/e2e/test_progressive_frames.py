"""Progressive HTJ2K in the viewer: the displayed image is fetched with a byte range and
rendered from it, then completed by a second range, through the authorised path (nginx →
Django → X-Accel → Orthanc) in headless Chromium.

Every frame request is recorded from DevTools (request headers, status, Content-Range); a poller
in the page records the quality of each image a viewport showed (cornerstone's
``imageQualityStatus``: 6 sub-resolution, 8 full resolution).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import CDPSession, Page, Route

from tests.e2e.conftest import Demo
from tests.support.stack import RunningStack
from tests.support.web import HTJ2K_RPCL, login, screenshot, viewer_url, wait_for_rendered_image

FULL_RESOLUTION, SUBRESOLUTION = 8, 6

# What each viewport of the viewer displays (not the thumbnails' off-screen ones), as
# cornerstone holds it (csImage), every animation frame.
SHOWN_PROBE = """
(() => {
  window.__nnShown = [];
  const seen = new Set();
  const poll = () => {
    const cs = window.cornerstone;
    if (cs && cs.getRenderingEngines) {
      for (const e of cs.getRenderingEngines()) for (const vp of e.getViewports()) {
        if (e.id === '_thumbnails') continue;  // loadImageToCanvas's off-screen viewports
        const image = vp.csImage;
        if (!image || !image.imageId) continue;
        const key = image.imageId + '|' + image.imageQualityStatus + '|' + image.columns;
        if (!seen.has(key)) {
          seen.add(key);
          window.__nnShown.push({imageId: image.imageId, quality: image.imageQualityStatus,
                                 columns: image.columns, rows: image.rows});
        }
      }
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""

# OHIF's error notices (sonner toasts: ui-next's ErrorBoundary shows an unhandled rejection as a
# sticky "Something went wrong" one): each one seen, and how many are on screen now.
NOTICE_PROBE = """
(() => {
  window.__nnNotices = {seen: [], now: 0};
  const poll = () => {
    const toasts = [...document.querySelectorAll('[data-sonner-toast]')]
      .filter(t => /Something went wrong/.test(t.textContent || ''));
    const notices = window.__nnNotices;
    for (const t of toasts) if (!notices.seen.includes(t)) notices.seen.push(t);
    notices.now = toasts.length;
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""


@dataclass
class FrameRequest:
    url: str
    range: str | None = None
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FrameRequests:
    """Frame requests from DevTools: the Range sent, the status and headers answered."""

    by_id: dict[str, FrameRequest] = field(default_factory=dict)

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._answered)
        cdp.send("Network.enable")

    def _sent(self, event: dict[str, Any]) -> None:
        request = event["request"]
        if "/frames/" in request["url"]:
            headers = {k.lower(): v for k, v in request["headers"].items()}
            self.by_id[event["requestId"]] = FrameRequest(request["url"], headers.get("range"))

    def _answered(self, event: dict[str, Any]) -> None:
        found = self.by_id.get(event["requestId"])
        if found is not None:
            found.status = int(event["response"]["status"])
            found.headers = {k.lower(): str(v) for k, v in event["response"]["headers"].items()}

    def of(self, image_id: str) -> list[FrameRequest]:
        path = image_id.removeprefix("wadors:")
        return [r for r in self.by_id.values() if r.url.endswith(path)]


def open_viewer(page: Page, web_stack: RunningStack, demo: Demo) -> FrameRequests:
    requests = FrameRequests()
    requests.attach(page.context.new_cdp_session(page))
    page.add_init_script(SHOWN_PROBE)
    login(page, web_stack.url, "radiologist")
    page.goto(viewer_url(web_stack.url, demo.study_uid))
    return requests


def first_shown(page: Page) -> dict[str, Any]:
    handle = page.wait_for_function(
        "() => window.__nnShown && window.__nnShown[0]", timeout=120_000
    )
    shown: dict[str, Any] = handle.json_value()
    return shown


def test_the_first_image_is_fetched_by_a_byte_range_and_rendered_from_it(
    page: Page, web_stack: RunningStack, demo: Demo
) -> None:
    requests = open_viewer(page, web_stack, demo)
    shown = first_shown(page)
    wait_for_rendered_image(page)
    screenshot(page, "progressive-1-first-image")
    asked = requests.of(shown["imageId"])
    assert asked, f"no request recorded for {shown['imageId']}"
    first = asked[0]
    assert first.range == "bytes=0-65535", first
    assert first.status == 206, first
    assert re.fullmatch(r"bytes 0-\d+/\d+", first.headers.get("content-range", "")), first.headers
    assert first.headers["content-type"] == f"image/jphc; transfer-syntax={HTJ2K_RPCL}"
    # A demo frame (64x64) is smaller than the first range: that one 206 answer is the image.
    total = int(first.headers["content-range"].rsplit("/", 1)[1])
    assert total < 65536
    assert shown["quality"] == FULL_RESOLUTION
    assert [r.range for r in asked] == ["bytes=0-65535"], "nothing left to fetch"


def test_a_first_range_shorter_than_the_frame_shows_a_partial_image_then_the_rest(
    page: Page, web_stack: RunningStack, demo: Demo
) -> None:
    # The same viewer with a 1 KiB first range (app-config.js's neuronova.initialBytes), so the
    # demo's 64x64 frames (about 4 kB as HTJ2K) arrive in two ranges.
    def smaller_first_range(route: Route) -> None:
        body = route.fetch().text()
        patched = body.replace("initialBytes: 65536", "initialBytes: 1024")
        assert patched != body, "app-config.js no longer sets neuronova.initialBytes"
        route.fulfill(body=patched, headers={"content-type": "application/javascript"})

    page.route(re.compile(r"/pacs-viewer/app-config\.js$"), smaller_first_range)
    requests = open_viewer(page, web_stack, demo)
    shown = first_shown(page)
    image_id = shown["imageId"]
    page.wait_for_function(
        "id => window.__nnShown.some(s => s.imageId === id && s.quality === 8)",
        arg=image_id,
        timeout=120_000,
    )
    screenshot(page, "progressive-2-completed")
    asked = requests.of(image_id)
    assert [r.range for r in asked] == ["bytes=0-1023", "bytes=1024-"], asked
    assert [r.status for r in asked] == [206, 206]
    total = int(asked[0].headers["content-range"].rsplit("/", 1)[1])
    assert asked[0].headers["content-range"] == f"bytes 0-1023/{total}"
    assert asked[1].headers["content-range"] == f"bytes 1024-{total - 1}/{total}"
    qualities = [
        s["quality"] for s in page.evaluate("() => window.__nnShown") if s["imageId"] == image_id
    ]
    assert qualities[0] == SUBRESOLUTION, qualities  # drawn from the first 1 KiB
    assert qualities[-1] == FULL_RESOLUTION, qualities


def test_a_displayed_image_whose_fetch_failed_is_asked_again_and_rendered(
    page: Page, web_stack: RunningStack, demo: Demo
) -> None:
    # The displayed image is the first frame asked with the first range; every request for that
    # frame fails (connection reset) until the viewer asks it with a first range again: the
    # initial range and cornerstone's own fallback to the whole frame fail, and so do the
    # thumbnail's and the stack prefetch's requests for it meanwhile. Before the viewport's own
    # retry (src/mode/displayedRetry.ts), the viewport stayed blank for good.
    failing: dict[str, Any] = {"url": None, "first_ranges": 0, "aborted": 0}
    held: list[Route] = []  # the viewer's retry, held until the notice is hovered

    def fail_the_first_load(route: Route) -> None:
        request = route.request
        first_range = request.header_value("range") == "bytes=0-65535"
        if failing["url"] is None and first_range:
            failing["url"] = request.url
        if request.url == failing["url"]:
            failing["first_ranges"] += int(first_range)
            if failing["first_ranges"] <= 1:
                failing["aborted"] += 1
                route.abort("connectionreset")
                return
            if failing["first_ranges"] == 2:
                held.append(route)
                return
        route.continue_()

    page.route(re.compile(r"/frames/\d+"), fail_the_first_load)
    page.add_init_script(NOTICE_PROBE)
    open_viewer(page, web_stack, demo)
    # OHIF shows the failed fetch as a "Something went wrong" notice. The user points at it, as
    # when reading it: sonner's own 4 s lifetime then pauses, so only a hide can take it away.
    notice = page.locator("[data-sonner-toast]", has_text="Something went wrong").first
    notice.wait_for(timeout=120_000)
    notice.hover()
    for _ in range(1200):  # the retry is due 1 s after the failure; poll up to a minute
        if held:
            break
        page.wait_for_timeout(50)
    assert held, f"the displayed frame was not asked again: {failing}"
    held[0].continue_()
    # What the user sees: the viewport shows an image (it can only be the one that failed).
    shown = page.wait_for_function(
        "() => (window.__nnShown || []).find(s => s.quality === 8)", timeout=120_000
    ).json_value()
    screenshot(page, "progressive-3-retried")
    assert failing["url"], failing
    assert str(failing["url"]).endswith(shown["imageId"].removeprefix("wadors:")), (shown, failing)
    assert failing["aborted"] >= 1, failing
    assert failing["first_ranges"] >= 2, f"the displayed frame was not asked again: {failing}"
    assert page.evaluate("() => window.__neuronovaDisplayedRetries") >= 1
    wait_for_rendered_image(page)
    # The notice went away with the recovery (hidden through OHIF's uiNotificationService),
    # though the pointer still rests where it was.
    assert page.evaluate("() => window.__nnNotices.seen.length") >= 1, "no error notice was shown"
    page.wait_for_function("() => window.__nnNotices.now === 0", timeout=30_000)
