import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveMode } from "../mode/index";
import {
  applyFrameRetrieve,
  DEFAULT_INITIAL_BYTES,
  initialBytes,
  stackRetrieve,
  volumeRetrieve,
  type RetrieveConfiguration,
} from "../mode/retrieve";
import type { RequestPool } from "../mode/requestOrder";

test("the first range has a fixed, sane size", () => {
  assert.equal(initialBytes(), DEFAULT_INITIAL_BYTES);
  assert.equal(initialBytes({ initialBytes: 32768 }), 32768);
  assert.equal(initialBytes({ initialBytes: 10 }), DEFAULT_INITIAL_BYTES, "below 1 KiB is a typo");
  const config = stackRetrieve({ initialBytes: 16384 }) as RetrieveConfiguration;
  assert.equal(config.retrieveOptions.initialRange.chunkSize, 16384);
  assert.doesNotThrow(() => structuredClone(config.retrieveOptions), "options travel to the decode worker");
});

test("a displayed image: a byte range first, then the rest; prefetch whole", () => {
  const config = stackRetrieve() as RetrieveConfiguration;
  assert.deepEqual(
    config.stages.map((s) => s.retrieveType),
    ["initialRange", "finalRange"],
  );
  assert.equal(config.retrieveOptions.initialRange.rangeIndex, 0);
  assert.equal(config.retrieveOptions.finalRange.rangeIndex, -1);
  assert.deepEqual(config.retrieveOptions.default, {}, "cornerstone's stack prefetch reads 'default'");
  assert.equal(stackRetrieve({ frames: "whole" }), null);
});

test("volumes keep cornerstone's interleaved stages and range its fast/final ones", () => {
  const stages = [{ id: "initialImages", retrieveType: "default" }, { id: "quarterThumb", retrieveType: "multipleFast" }];
  const config = volumeRetrieve({}, stages) as RetrieveConfiguration;
  assert.equal(config.stages, stages);
  assert.equal(config.retrieveOptions.multipleFast.rangeIndex, 0);
  assert.equal(config.retrieveOptions.multipleFinal.rangeIndex, -1);
  assert.equal(volumeRetrieve({}, undefined), null);
  assert.equal(volumeRetrieve({ frames: "whole" }, stages), null);
});

test("the mode applies it after mode-basic's own onModeEnter", () => {
  const calls: string[] = [];
  const added: Record<string, RetrieveConfiguration> = {};
  const cornerstone = {
    utilities: { imageRetrieveMetadataProvider: { add: (key: string, c: RetrieveConfiguration) => (added[key] = c) } },
    ProgressiveRetrieveImages: { interleavedRetrieveStages: { stages: [{ id: "x", retrieveType: "multipleFast" }] } },
    imageLoadPoolManager: { numRequests: {}, requestPool: {}, sendRequests: () => false, startGrabbing: () => undefined } as RequestPool,
  };
  const basic = {
    id: "b",
    routeName: "basic",
    displayName: "Basic",
    routes: [{ path: "basic", layoutTemplate: () => null, layoutInstance: { id: "l", props: {} } }],
    extensions: {},
    onModeEnter: () => calls.push("basic"),
  };
  const mode = deriveMode(basic, "/x.js", () => cornerstone);
  mode.onModeEnter?.({ appConfig: {} });
  assert.deepEqual(calls, ["basic"]);
  assert.deepEqual(Object.keys(added).sort(), ["stack", "volume"]);
  assert.equal(cornerstone.imageLoadPoolManager.__neuronovaInteractionFirst, true, "displayed image first");
  assert.throws(() => applyFrameRetrieve(undefined), /imageRetrieveMetadataProvider is missing/);
  assert.deepEqual(applyFrameRetrieve(cornerstone, { frames: "whole" }), []);
});
