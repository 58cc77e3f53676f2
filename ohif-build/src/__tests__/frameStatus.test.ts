// A 4xx answered to a byte-range fetch is not asked again: the range fetch ignores the status,
// so it is read from the browser's resource timing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { retryDisplayedImages, type DisplayedViewport } from "../mode/displayedRetry";
import { frameUrl, MAX_URLS, watchFrameStatus, type ObserverClass, type ResourceEntry } from "../mode/frameStatus";

const BASE = "https://pacs.example/pacs-viewer/ai?StudyInstanceUIDs=1";
const FRAME = "https://pacs.example/api/pacs/dicom-web/studies/1/series/2/instances/3/frames/1";

// A PerformanceObserver: `deliver` hands it entries the way the browser does (later, in batches).
function fakeObserver() {
  const observed: { type: string; buffered?: boolean }[] = [];
  let callback: ((list: { getEntries(): ResourceEntry[] }) => void) | undefined;
  const Observer = class {
    constructor(fn: (list: { getEntries(): ResourceEntry[] }) => void) {
      callback = fn;
    }
    observe(options: { type: string; buffered?: boolean }) {
      observed.push(options);
    }
  } as ObserverClass;
  const deliver = (...entries: ResourceEntry[]) => callback?.({ getEntries: () => entries });
  return { Observer, observed, deliver };
}

test("frameUrl: the URL a wadors: image id is fetched from, absolute", () => {
  assert.equal(frameUrl(`wadors:${FRAME}`), FRAME);
  assert.equal(frameUrl("wadors:/api/pacs/dicom-web/studies/1/series/2/instances/3/frames/1", BASE), FRAME);
  assert.equal(frameUrl(`wadouri:${FRAME}`, BASE), undefined);
  assert.equal(frameUrl("wadors:/relative/without/base"), undefined);
});

test("the last status the browser recorded for a frame's URL; none where it records none", () => {
  const { Observer, observed, deliver } = fakeObserver();
  const statusOf = watchFrameStatus(Observer, BASE);
  assert.deepEqual(observed, [{ type: "resource", buffered: true }]);
  assert.equal(statusOf(`wadors:${FRAME}`), undefined);
  deliver({ name: FRAME, responseStatus: 206 }, { name: FRAME, responseStatus: 404 });
  assert.equal(statusOf(`wadors:${FRAME}`), 404);
  deliver({ name: FRAME, responseStatus: 0 }, { name: FRAME }); // cross-origin / older browsers
  assert.equal(statusOf(`wadors:${FRAME}`), 404, "an entry without a status changes nothing");
  deliver({ name: FRAME, responseStatus: 200 });
  assert.equal(statusOf(`wadors:${FRAME}`), 200);
  // Bounded: the oldest URLs go.
  deliver(...Array.from({ length: MAX_URLS }, (_, i) => ({ name: `${FRAME}?${i}`, responseStatus: 200 })));
  assert.equal(statusOf(`wadors:${FRAME}`), undefined);
  assert.equal(statusOf(`wadors:${FRAME}?${MAX_URLS - 1}`), 200);
  assert.equal(watchFrameStatus(undefined, BASE)(`wadors:${FRAME}`), undefined);
  const Throwing = class {
    observe() {
      throw new TypeError("resource is not a supported entry type");
    }
  } as unknown as ObserverClass;
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    assert.equal(watchFrameStatus(Throwing, BASE)(`wadors:${FRAME}`), undefined);
  } finally {
    console.warn = warn;
  }
});

test("a displayed image whose range fetch was answered 4xx is not asked again, a 5xx is", () => {
  const asked: string[] = [];
  const viewport: DisplayedViewport = {
    id: "vp1",
    type: "stack",
    csImage: null,
    getCurrentImageId: () => current,
    imagesLoader: { loadImages: (ids: string[]) => void asked.push(...ids) },
  };
  let current = `wadors:${FRAME}`;
  let fire: ((evt: { detail?: { imageId?: unknown; error?: unknown } }) => void) | undefined;
  const cornerstone = {
    eventTarget: { addEventListener: (_: string, fn: typeof fire) => void (fire = fn) },
    Enums: { Events: { IMAGE_LOAD_ERROR: "IMAGE_LOAD_ERROR" } },
    getRenderingEngines: () => [{ id: "engine", getViewports: () => [viewport] }],
  };
  const queue: (() => void)[] = [];
  const { Observer, deliver } = fakeObserver();
  retryDisplayedImages(cornerstone, {
    later: (fn) => void queue.push(fn),
    statusOf: watchFrameStatus(Observer, BASE),
  });
  // The decode error carries no status; the browser's entry comes after the failure fired.
  fire?.({ detail: { imageId: current, error: "Couldn't decode" } });
  deliver({ name: FRAME, responseStatus: 403 });
  queue.shift()?.();
  assert.deepEqual(asked, [], "403: asking again will not help");
  fire?.({ detail: { imageId: current, error: "Couldn't decode" } });
  assert.equal(queue.length, 0, "known at the failure: not even scheduled");
  // Another frame answered 503 by the range fetch: asked again.
  current = `wadors:${FRAME.replace(/1$/, "2")}`;
  deliver({ name: FRAME.replace(/1$/, "2"), responseStatus: 503 });
  fire?.({ detail: { imageId: current, error: "Couldn't decode" } });
  queue.shift()?.();
  assert.deepEqual(asked, [current]);
});
