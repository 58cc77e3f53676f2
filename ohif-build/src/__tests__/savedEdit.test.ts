// A saved edit becomes a series of the open study at once: no reload needed to see or load it.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { addStoredInstance, storeEditedSeg, type DataSource, type EditServices, type StoreDeps } from "../extension/edit";
import { findMetadataStore, INSTANCES_ADDED, OHIF_CORE_MODULE_ID, type MetadataStore, type ModuleRequire } from "../extension/host-modules";
import { findSegDisplaySet, repointSegs, type DisplaySet } from "../extension/overlay";

const globals = globalThis as { XMLHttpRequest?: unknown; window?: unknown; document?: unknown };
beforeEach(() => {
  globals.XMLHttpRequest = class { open() {} setRequestHeader() {} };
  globals.window = {};
  globals.document = { cookie: "csrftoken=t" };
});
afterEach(() => {
  delete globals.XMLHttpRequest;
  delete globals.window;
  delete globals.document;
});

type Instance = Record<string, unknown>;

// OHIF's side, as far as a stored SEG goes: DicomMetadataStore keeps instances by series and fires
// INSTANCES_ADDED, on which the mode's route (OHIF's defaultRouteInit) makes the series' display
// sets; displaySetService holds the study's active display sets (the study browser lists them).
function fakeOhif() {
  const active: DisplaySet[] = [
    { displaySetInstanceUID: "mr", SeriesInstanceUID: "1.2.3.1", Modality: "MR" },
    { displaySetInstanceUID: "ai", SeriesInstanceUID: "1.2.3.2", Modality: "SEG" },
  ];
  const made: { instances: Instance[]; options: { madeInClient?: boolean } }[] = [];
  const displaySetService = {
    getActiveDisplaySets: () => active,
    makeDisplaySets: (instances: Instance[], options: { madeInClient?: boolean }) => {
      made.push({ instances, options });
      for (const instance of instances) {
        active.push({ displaySetInstanceUID: `ds-${String(instance.SeriesInstanceUID)}`, SeriesInstanceUID: String(instance.SeriesInstanceUID), Modality: String(instance.Modality) });
      }
    },
  };
  const series = new Map<string, Instance[]>();
  const added: { instances: Instance[]; madeInClient?: boolean }[] = [];
  const metadataStore: MetadataStore = {
    EVENTS: { INSTANCES_ADDED },
    getSeries: (_study, uid) => ({ instances: series.get(uid) ?? [] }),
    addInstances(instances, madeInClient) {
      added.push({ instances, madeInClient });
      const uid = String(instances[0].SeriesInstanceUID);
      series.set(uid, [...(series.get(uid) ?? []), ...instances]);
      displaySetService.makeDisplaySets(series.get(uid) ?? [], { madeInClient }); // the route's listener
    },
  };
  const services = {
    displaySetService,
    viewportGridService: { getActiveViewportId: () => "vp" },
    segmentationService: { getSegmentation: () => undefined },
    toolGroupService: { getToolGroup: () => undefined },
  } as unknown as EditServices;
  return { active, made, added, metadataStore, services };
}

function dataSource(log: string[], store: () => Promise<unknown> = async () => undefined): DataSource {
  return {
    store: { dicom: async () => { log.push("store"); await store(); log.push("stored"); } },
    getConfig: () => ({ wadoRoot: "/api/pacs/dicom-web" }),
    getImageIdsForInstance: ({ instance }) => `wadors:/api/pacs/dicom-web/studies/1.2.3/series/${String(instance.SeriesInstanceUID)}/instances/9/frames/1`,
  };
}

function deps(ohif: ReturnType<typeof fakeOhif>, source: DataSource, store: MetadataStore | undefined): StoreDeps {
  return {
    services: ohif.services,
    runCommand: async () => ({ dataset: { SeriesInstanceUID: "1.2.3.9", Modality: "SEG", SOPInstanceUID: "9", SegmentSequence: [] } }),
    getDataSources: () => [source],
    dataSourceName: "neuronova",
    metadataStore: () => store,
  };
}

const aiSeg = { displaySetInstanceUID: "ai", SeriesInstanceUID: "1.2.3.2", Modality: "SEG" } as DisplaySet;

test("once stored, the edited SEG is a series of the open study (DicomMetadataStore -> display set)", async () => {
  const ohif = fakeOhif();
  const log: string[] = [];
  const series = await storeEditedSeg(deps(ohif, dataSource(log), ohif.metadataStore), aiSeg, "radiologist");
  assert.equal(series, "1.2.3.9");
  assert.deepEqual(log, ["store", "stored"]);
  assert.equal(ohif.added.length, 1, "added to OHIF's study metadata once");
  assert.equal(ohif.added[0].madeInClient, true, "as OHIF's own store does (the study browser jumps to it)");
  const shown = findSegDisplaySet(ohif.active, series);
  assert.ok(shown, "the study browser / Show AI overlay find the edited series without a reload");
  const instance = ohif.added[0].instances[0];
  assert.equal(instance.wadoRoot, "/api/pacs/dicom-web", "its frames are fetched from the archive");
  assert.match(String(instance.imageId), /series\/1\.2\.3\.9\/instances\/9\/frames\/1$/);
  assert.ok(!Object.keys(instance).includes("wadoRoot") && !Object.keys(instance).includes("imageId"), "not DICOM attributes");
});

test("nothing is added before the store succeeded, nor when it failed", async () => {
  const ohif = fakeOhif();
  const log: string[] = [];
  let release: () => void = () => undefined;
  const pending = storeEditedSeg(
    deps(ohif, dataSource(log, () => new Promise<void>((resolve) => { release = resolve; })), ohif.metadataStore), aiSeg, "r",
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ["store"]);
  assert.equal(ohif.added.length, 0, "not before the archive has it");
  release();
  await pending;
  assert.equal(ohif.added.length, 1);

  const failed = fakeOhif();
  await assert.rejects(
    storeEditedSeg(deps(failed, dataSource([], async () => { throw new Error("409"); }), failed.metadataStore), aiSeg, "r"),
    /409/,
  );
  assert.equal(failed.added.length, 0);
  assert.equal(findSegDisplaySet(failed.active, "1.2.3.9"), undefined);
});

test("without the host's metadata store the display set is made directly; a failure to show never fails the save", async () => {
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    const ohif = fakeOhif();
    await storeEditedSeg(deps(ohif, dataSource([]), undefined), aiSeg, "r");
    assert.equal(ohif.made.length, 1);
    assert.deepEqual(ohif.made[0].options, { madeInClient: true });
    assert.ok(findSegDisplaySet(ohif.active, "1.2.3.9"));

    const broken = fakeOhif();
    const store = { ...broken.metadataStore, addInstances: () => { throw new Error("shape changed"); } };
    assert.equal(await storeEditedSeg(deps(broken, dataSource([]), store), aiSeg, "r"), "1.2.3.9");
    assert.equal(addStoredInstance({ SeriesInstanceUID: "x" }, {}, {}, broken.metadataStore), "metadata-store");
  } finally {
    console.warn = warn;
  }
});

test("the host's DicomMetadataStore is found in @ohif/core's exports, else by its event name", () => {
  const store = { EVENTS: { INSTANCES_ADDED }, addInstances: () => undefined, getSeries: () => undefined };
  const core = {};
  Object.defineProperty(core, "Xy", { enumerable: true, get: () => { throw new ReferenceError("not initialised"); } });
  Object.defineProperty(core, "H8", { enumerable: true, get: () => store });
  Object.defineProperty(core, "Ab", { enumerable: true, get: () => ({ addInstances: () => undefined }) });
  const pinned = ((id: number | string) => {
    if (id === OHIF_CORE_MODULE_ID) return core;
    throw new Error(`no module ${id}`);
  }) as ModuleRequire;
  assert.equal(findMetadataStore(pinned), store);

  const moved = ((id: number | string) => (id === "777" ? core : {})) as ModuleRequire;
  // A module factory's source, as rspack's loader holds it.
  moved.m = { 1: () => "unrelated", 777: () => "INSTANCES_ADDED: 'event::dicomMetadataStore:instancesAdded'" };
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (message: unknown) => void warnings.push(message);
  try {
    assert.equal(findMetadataStore(moved), store);
    assert.match(String(warnings[0]), /module 777, not 50679/);
    const none = (() => ({})) as ModuleRequire;
    none.m = {};
    assert.equal(findMetadataStore(none), undefined);
  } finally {
    console.warn = warn;
  }
});

test("an edited SEG is drawn on the source series it names first, not on the AI SEG it also references", () => {
  // OHIF's SEG handler took the first display set, in its cache's order, among the referenced
  // series' ones: the AI SEG's when that came first.
  const mr: DisplaySet = { displaySetInstanceUID: "mr", SeriesInstanceUID: "1.2.3.1", Modality: "MR", isReconstructable: true, FrameOfReferenceUID: "for" };
  const ai: DisplaySet = { displaySetInstanceUID: "ai", SeriesInstanceUID: "1.2.3.2", Modality: "SEG", referencedSeriesInstanceUID: "1.2.3.1", referencedDisplaySetInstanceUID: "mr" };
  const edited: DisplaySet = {
    displaySetInstanceUID: "ed", SeriesInstanceUID: "1.2.3.9", Modality: "SEG",
    referencedSeriesInstanceUID: "1.2.3.1", referencedDisplaySetInstanceUID: "ai", isReconstructable: false,
  };
  const all = [ai, mr, edited];
  assert.deepEqual(repointSegs([edited, ai, mr], all), [edited]);
  assert.equal(edited.referencedDisplaySetInstanceUID, "mr");
  assert.equal(edited.isReconstructable, true);
  assert.equal(edited.FrameOfReferenceUID, "for");
  assert.equal(ai.referencedDisplaySetInstanceUID, "mr", "a SEG already on its series is left alone");
  const orphan: DisplaySet = { ...edited, displaySetInstanceUID: "o", referencedSeriesInstanceUID: "9.9", referencedDisplaySetInstanceUID: "ai" };
  assert.deepEqual(repointSegs([orphan], all), [], "no display set of the named series: unchanged");
  assert.equal(orphan.referencedDisplaySetInstanceUID, "ai");
});
