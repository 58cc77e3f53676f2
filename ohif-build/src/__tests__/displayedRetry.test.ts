// The viewport asks again for the image it should show when that image's fetch failed.
import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { deriveMode } from "../mode/index";
import {
  noticeId,
  RETRY_DELAYS_MS,
  retryDisplayedImages,
  waitsFor,
  type DisplayedViewport,
} from "../mode/displayedRetry";

type Listener = (evt: { detail?: { imageId?: unknown; error?: unknown } }) => void;

// The part of cornerstone3D a failed displayed image goes through: StackViewport loads its current
// image with `imagesLoader.loadImages([imageId], viewport)`; on a final failure the event target
// gets IMAGE_LOAD_ERROR {imageId, error} and nothing asks again; on success the viewport's
// successCallback sets csImage (what it shows).
class Viewport implements DisplayedViewport {
  type = "stack";
  csImage: { imageId?: string } | null = null;
  asked: string[] = [];
  imagesLoader = {
    loadImages: (imageIds: string[], listener: unknown) => {
      assert.equal(listener, this, "the viewport itself is the listener (it draws the image)");
      this.asked.push(...imageIds);
      return this.answer(imageIds[0]);
    },
  };
  answer: (imageId: string) => Promise<unknown> = async () => undefined;
  constructor(readonly id: string, public current: string) {}
  getCurrentImageId = () => this.current;
}

function fakeCornerstone(viewports: Viewport[], engineId = "OHIFCornerstoneRenderingEngine") {
  const listeners: Listener[] = [];
  const cornerstone = {
    eventTarget: { addEventListener: (type: string, fn: Listener) => void (type === "IMAGE_LOAD_ERROR" && listeners.push(fn)) },
    Enums: { Events: { IMAGE_LOAD_ERROR: "IMAGE_LOAD_ERROR", IMAGE_LOAD_FAILED: "CORNERSTONE_IMAGE_LOAD_FAILED" } },
    getRenderingEngines: () => [{ id: engineId, getViewports: () => viewports }],
  };
  const fail = (imageId: string, error: unknown = new TypeError("Failed to fetch")) =>
    listeners.forEach((fn) => fn({ detail: { imageId, error } }));
  return { cornerstone, fail, listeners };
}

/** Lets the retry's loadImages promise and its `then` run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function timers() {
  const queue: { fn: () => void; ms: number }[] = [];
  return { queue, later: (fn: () => void, ms: number) => void queue.push({ fn, ms }), run: () => queue.shift()?.fn() };
}

test("a failed displayed image is asked again by its viewport, once per failure, with growing delays", async () => {
  const viewport = new Viewport("vp1", "wadors:/frames/1");
  const { cornerstone, fail } = fakeCornerstone([viewport]);
  const clock = timers();
  assert.equal(retryDisplayedImages(cornerstone, { later: clock.later }), true);
  fail("wadors:/frames/1");
  fail("wadors:/frames/1", "Couldn't decode"); // the progressive loader reports one failure twice
  assert.equal(clock.queue.length, 1, "one retry per failure");
  assert.equal(clock.queue[0].ms, RETRY_DELAYS_MS[0]);
  assert.deepEqual(viewport.asked, [], "not before the delay");
  clock.run();
  assert.deepEqual(viewport.asked, ["wadors:/frames/1"], "asked again through the viewport's own loader");
  // It failed again: the next delay is longer; after the last one, no more.
  for (let i = 1; i < RETRY_DELAYS_MS.length + 2; i++) {
    fail("wadors:/frames/1", { status: 503 });
    if (i < RETRY_DELAYS_MS.length) assert.equal(clock.queue[0]?.ms, RETRY_DELAYS_MS[i]);
    clock.run();
  }
  assert.equal(viewport.asked.length, RETRY_DELAYS_MS.length, "bounded");
  assert.equal((globalThis as { __neuronovaDisplayedRetries?: number }).__neuronovaDisplayedRetries, RETRY_DELAYS_MS.length);
});

test("no retry for a 4xx, an image not on screen, a shown image, or a viewport scrolled away meanwhile", () => {
  const shown = new Viewport("shown", "a");
  shown.csImage = { imageId: "a" };
  const blank = new Viewport("blank", "b");
  const { cornerstone, fail } = fakeCornerstone([shown, blank]);
  const clock = timers();
  retryDisplayedImages(cornerstone, { later: clock.later });
  fail("b", { status: 404 });
  fail("a");
  fail("elsewhere");
  assert.equal(clock.queue.length, 0);
  fail("b");
  assert.equal(clock.queue.length, 1);
  blank.current = "c"; // the user scrolled on before the retry
  clock.run();
  assert.deepEqual(blank.asked, [], "the viewport no longer wants it");
  fail("c");
  blank.csImage = { imageId: "c" }; // another load showed it meanwhile
  clock.run();
  assert.deepEqual(blank.asked, []);
});

test("only on-screen stack viewports on the GPU path are retried", () => {
  const volume = Object.assign(new Viewport("mpr", "x"), { type: "orthographic" });
  const cpu = Object.assign(new Viewport("cpu", "x"), { useCPURendering: true });
  assert.equal(waitsFor(volume, "x"), false);
  assert.equal(waitsFor(cpu, "x"), false);
  assert.equal(waitsFor(new Viewport("vp", "x"), "x"), true);
  const thumbnail = new Viewport("thumb", "x");
  const { cornerstone, fail } = fakeCornerstone([thumbnail], "_thumbnails");
  const clock = timers();
  retryDisplayedImages(cornerstone, { later: clock.later });
  fail("x");
  assert.equal(clock.queue.length, 0, "loadImageToCanvas's off-screen viewports are not retried");
});

test("the mode installs the retry on entering (cornerstone's IMAGE_LOAD_ERROR) with OHIF's notices, and warns without cornerstone", async () => {
  const viewport = new Viewport("vp1", "a");
  const { cornerstone, listeners } = fakeCornerstone([viewport]);
  const pool = { numRequests: {}, requestPool: {}, sendRequests: () => false, startGrabbing: () => undefined };
  const full = {
    ...cornerstone,
    utilities: { imageRetrieveMetadataProvider: { add: () => undefined } },
    imageLoadPoolManager: pool,
  };
  const basic = {
    id: "basic", routeName: "basic", displayName: "Basic",
    routes: [{ path: "basic", layoutTemplate: () => null, layoutInstance: { id: "l", props: {} } }],
    extensions: {},
  };
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    const hidden: string[] = [];
    const servicesManager = { services: { uiNotificationService: { hide: (id: string) => void hidden.push(id) } } };
    const mode = deriveMode(basic, "/x.js", () => full, () => undefined);
    mock.timers.enable({ apis: ["setTimeout"] });
    mode.onModeEnter?.({ appConfig: { neuronova: { warmDecoder: false } }, servicesManager });
    assert.equal(listeners.length, 1, "listening to IMAGE_LOAD_ERROR");
    viewport.answer = async (imageId) => void (viewport.csImage = { imageId });
    listeners[0]({ detail: { imageId: "a", error: new TypeError("Failed to fetch") } });
    mock.timers.tick(RETRY_DELAYS_MS[0]);
    await settle();
    assert.deepEqual(viewport.asked, ["a"]);
    assert.deepEqual(hidden, ["error-TypeError: Failed to fetch"], "OHIF's uiNotificationService hid the notice");
    assert.equal(retryDisplayedImages(undefined), false);
  } finally {
    mock.timers.reset();
    console.warn = warn;
  }
});

// OHIF's ErrorBoundary shows an unhandled "TypeError: Failed to fetch" as a sticky notification
// with the id error-<first stack line>; uiNotificationService.hide(id) takes it away.
function notices() {
  const hidden: string[] = [];
  return { hidden, service: { hide: (id: string) => void hidden.push(id) } };
}

test("the notice OHIF shows for a failed displayed image is hidden once the retry shows the image", async () => {
  const viewport = new Viewport("vp1", "wadors:/frames/1");
  const { cornerstone, fail } = fakeCornerstone([viewport]);
  const clock = timers();
  const { hidden, service } = notices();
  retryDisplayedImages(cornerstone, { later: clock.later, notices: service });
  fail("wadors:/frames/1");
  // The first retry fails again: the image is still blank, the notice stays.
  viewport.answer = async () => undefined;
  clock.run();
  await settle();
  assert.deepEqual(hidden, [], "not while the viewport is still blank");
  fail("wadors:/frames/1");
  viewport.answer = async (imageId) => void (viewport.csImage = { imageId }); // successCallback
  clock.run();
  await settle();
  assert.deepEqual(hidden, ["error-TypeError: Failed to fetch"]);
});

test("a shared notice stays while another failed image is blank, and after the retries ran out", async () => {
  const first = new Viewport("vp1", "a");
  const second = new Viewport("vp2", "b");
  const { cornerstone, fail } = fakeCornerstone([first, second]);
  const clock = timers();
  const { hidden, service } = notices();
  retryDisplayedImages(cornerstone, { later: clock.later, notices: service });
  fail("a");
  fail("b");
  first.answer = async (imageId) => void (first.csImage = { imageId });
  clock.run(); // a's retry shows a; b is still blank: same notice id, kept
  await settle();
  assert.deepEqual(hidden, []);
  for (let i = 0; i < RETRY_DELAYS_MS.length + 1; i++) {
    clock.run();
    await settle();
    fail("b");
  }
  assert.equal(second.asked.length, RETRY_DELAYS_MS.length);
  assert.deepEqual(hidden, [], "b never came back: its notice stays");
});

test("a viewport that shows the image by another load before the retry runs also hides the notice", () => {
  const viewport = new Viewport("vp1", "a");
  const { cornerstone, fail } = fakeCornerstone([viewport]);
  const clock = timers();
  const { hidden, service } = notices();
  retryDisplayedImages(cornerstone, { later: clock.later, notices: service });
  fail("a", Object.assign(new Error("boom"), { stack: "Error: boom\n    at fetchRangeAndAppend (app.js:1:2)" }));
  viewport.csImage = { imageId: "a" };
  clock.run();
  assert.deepEqual(viewport.asked, []);
  assert.deepEqual(hidden, ["error-Error: boom"]);
});

test("noticeId mirrors OHIF's ErrorBoundary id: first stack line, else the message; none for a string", () => {
  assert.equal(noticeId(new TypeError("Failed to fetch")), "error-TypeError: Failed to fetch");
  assert.equal(noticeId({ message: "no stack" }), "error-no stack");
  assert.equal(noticeId({ stack: "  TypeError: x  \n at y", message: "x" }), "error-TypeError: x");
  assert.equal(noticeId("Couldn't decode"), undefined);
  assert.equal(noticeId({ status: 503 }), undefined);
});
