import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveMode } from "../mode/index";
import { warmDecoders } from "../mode/decoderWarmup";
import { MAX_RETRIES, retriable, retryFailedPrefetch } from "../mode/prefetchRetry";
import { HOLD_LIMIT_MS, interactionFirst, interactionPending, type RequestPool } from "../mode/requestOrder";

// The part of cornerstone3D's RequestPoolManager (core/requestPool/requestPoolManager) that the
// hold relies on: each type is sent up to its limit, in the order interaction, thumbnail,
// prefetch; a request that ends lowers its count and grabs again. Requests end when the test says.
class Pool implements RequestPool {
  numRequests: Record<string, number> = { interaction: 0, thumbnail: 0, prefetch: 0, compute: 0 };
  requestPool: Record<string, Record<string, (() => void)[]>> = {
    interaction: { 0: [] },
    thumbnail: { 0: [] },
    prefetch: { 0: [] },
    compute: { 0: [] },
  };
  maxNumRequests: Record<string, number> = { interaction: 100, thumbnail: 5, prefetch: 10, compute: 10 };
  sent: string[] = [];
  __neuronovaInteractionFirst?: boolean;
  private open = new Map<string, () => void>();

  add(name: string, type: string): void {
    this.requestPool[type][0].push(() => {
      this.sent.push(name);
      this.open.set(name, () => {
        this.numRequests[type]--;
        this.startGrabbing();
      });
    });
    this.startGrabbing();
  }
  end(name: string): void {
    const done = this.open.get(name);
    assert.ok(done, `${name} is in flight`);
    this.open.delete(name);
    done();
  }
  sendRequests(type: string): boolean {
    for (let i = this.numRequests[type]; i < this.maxNumRequests[type]; i++) {
      const next = this.requestPool[type][0].shift();
      if (!next) return false;
      this.numRequests[type]++;
      next();
    }
    return true;
  }
  startGrabbing(): void {
    for (const type of ["interaction", "thumbnail", "prefetch", "compute"]) this.sendRequests(type);
  }
}

function opening(pool: Pool): void {
  // What OHIF does when it shows a stack: the displayed image (two ranges when progressive), the
  // series thumbnail, and cornerstone's stack-context prefetch of the neighbours.
  pool.add("shown:initial", "interaction");
  pool.add("shown:final", "interaction");
  pool.add("thumbnail", "thumbnail");
  for (let i = 1; i <= 12; i++) pool.add(`neighbour${i}`, "prefetch");
}

test("cornerstone's own order sends the neighbours with the displayed image (the link is shared)", () => {
  const pool = new Pool();
  opening(pool);
  assert.equal(pool.sent.length, 13, "2 interaction + 1 thumbnail + 10 prefetch at once");
});

test("displayed first: thumbnails and prefetch wait until the displayed image's requests end", () => {
  const pool = new Pool();
  assert.equal(interactionFirst(pool), true);
  assert.equal(interactionFirst(pool), false, "installed once");
  opening(pool);
  assert.deepEqual(pool.sent, ["shown:initial", "shown:final"]);
  assert.equal(interactionPending(pool), true);
  pool.end("shown:initial");
  assert.deepEqual(pool.sent, ["shown:initial", "shown:final"], "still one in flight");
  pool.end("shown:final");
  assert.equal(interactionPending(pool), false);
  assert.equal(pool.sent.length, 13, "then everything that waited, in order, up to the limits");
  assert.deepEqual(pool.sent.slice(2, 5), ["thumbnail", "neighbour1", "neighbour2"]);
  // Scrolling to another image: the prefetch still queued waits for it again.
  pool.add("scrolled", "interaction");
  pool.end("neighbour1");
  assert.equal(pool.sent.at(-1), "scrolled");
  assert.equal(pool.requestPool.prefetch[0].length, 2, "neighbours 11-12 wait for the scrolled image");
  pool.end("scrolled");
  assert.equal(pool.sent.at(-1), "neighbour11", "one prefetch slot was free (neighbour1 ended)");
  assert.equal(pool.requestPool.prefetch[0].length, 1);
});

test("a displayed image that never arrives holds the others for HOLD_LIMIT_MS only", () => {
  const pool = new Pool();
  let now = 1000;
  const timers: (() => void)[] = [];
  interactionFirst(pool, { now: () => now, later: (fn) => void timers.push(fn) });
  opening(pool);
  assert.equal(pool.sent.length, 2);
  now += HOLD_LIMIT_MS - 1;
  pool.startGrabbing();
  assert.equal(pool.sent.length, 2, "still held");
  now += 1;
  assert.equal(timers.length, 1, "one wake-up per hold");
  timers[0]();
  assert.equal(pool.sent.length, 13, "sent as cornerstone would, although both ranges are in flight");
});

test("the mode installs it unless app-config says order: 'ohif', and fails loudly without a pool", () => {
  const basic = {
    id: "b",
    routeName: "b",
    displayName: "b",
    routes: [{ path: "b", layoutTemplate: () => null, layoutInstance: { id: "l", props: {} } }],
    extensions: {},
  };
  const cornerstone = (pool: Pool | undefined) => ({
    utilities: { imageRetrieveMetadataProvider: { add: () => undefined } },
    imageLoadPoolManager: pool,
  });
  const shown = new Pool();
  deriveMode(basic, "/x.js", () => cornerstone(shown)).onModeEnter?.({ appConfig: {} });
  assert.equal(shown.__neuronovaInteractionFirst, true);
  const ohif = new Pool();
  deriveMode(basic, "/x.js", () => cornerstone(ohif)).onModeEnter?.({ appConfig: { neuronova: { order: "ohif" } } });
  assert.equal(ohif.__neuronovaInteractionFirst, undefined);
  assert.throws(() => interactionFirst(undefined), /imageLoadPoolManager is missing/);
});

test("the decoder warm-up sends one tiny HTJ2K decode to each worker, and survives failures", async () => {
  const calls: { worker: string; method: string; args: Record<string, unknown> }[] = [];
  const manager = (fail: boolean) => ({
    workerRegistry: { dicomImageLoader: { instances: [{}, {}] } },
    executeTask(worker: string, method: string, args: Record<string, unknown>) {
      calls.push({ worker, method, args });
      return fail ? Promise.reject(new Error("no codec")) : Promise.resolve({});
    },
  });
  assert.equal(await warmDecoders({ getWebWorkerManager: () => manager(false) }), 2);
  assert.deepEqual(calls.map((c) => `${c.worker}.${c.method}`), ["dicomImageLoader.decodeTask", "dicomImageLoader.decodeTask"]);
  const task = calls[0].args as { transferSyntax: string; pixelData: Uint8Array; imageFrame: { rows: number } };
  assert.equal(task.transferSyntax, "1.2.840.10008.1.2.4.202");
  assert.deepEqual([...task.pixelData.slice(0, 4)], [0xff, 0x4f, 0xff, 0x51], "a J2K codestream: SOC, SIZ");
  assert.deepEqual([...task.pixelData.slice(-2)], [0xff, 0xd9], "EOC");
  assert.equal(task.imageFrame.rows, 8);
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    assert.equal(await warmDecoders({ getWebWorkerManager: () => manager(true) }), 0);
    assert.equal(await warmDecoders(undefined), 0);
  } finally {
    console.warn = warn;
  }
});

test("a stack image whose fetch failed is asked again through the stack prefetch, 4xx excepted", () => {
  const listeners: ((evt: { detail?: { error?: unknown } }) => void)[] = [];
  const enabled: unknown[] = [];
  const timers: (() => void)[] = [];
  const element = { id: "vp" };
  const cornerstone = {
    eventTarget: { addEventListener: (_type: string, fn: (typeof listeners)[number]) => void listeners.push(fn) },
    Enums: { Events: { IMAGE_LOAD_FAILED: "IMAGE_LOAD_FAILED" } },
    getRenderingEngines: () => [{ getViewports: () => [{ element, getImageIds: () => ["a", "b"] }, { element: {}, getImageIds: () => [] }] }],
  };
  const tools = { utilities: { stackContextPrefetch: { enable: (e: unknown) => void enabled.push(e) } } };
  assert.equal(retryFailedPrefetch(cornerstone, tools, (fn) => void timers.push(fn)), true);
  const fail = (error: unknown) => listeners.forEach((fn) => fn({ detail: { error } }));
  fail({ status: 404 });
  assert.equal(timers.length, 0, "a 4xx is final");
  fail(new TypeError("Failed to fetch"));
  fail(new TypeError("Failed to fetch"));
  assert.equal(timers.length, 1, "failures close together make one retry round");
  timers[0]();
  assert.deepEqual(enabled, [element], "only viewports that show a stack");
  for (let i = 0; i < 5; i++) {
    fail({ status: 502 });
    timers.at(-1)?.();
  }
  assert.equal(timers.length, MAX_RETRIES, "bounded");
  assert.equal(retriable(undefined), true);
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    assert.equal(retryFailedPrefetch(undefined, tools), false);
  } finally {
    console.warn = warn;
  }
});
