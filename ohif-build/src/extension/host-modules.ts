// Adapter: modules of the host OHIF bundle that its prebuilt dist does not expose, taken from its
// rspack module loader (a pushed chunk's runtime receives __webpack_require__). React
// (host-react.ts) and @ohif/core's DicomMetadataStore come from here; scripts/check-dist.mjs
// checks at build time that they are where we look first, and each lookup falls back to finding
// the module by what it contains.

export type ModuleRequire = ((id: number | string) => unknown) & { m?: Record<string, unknown> };

export function hostRequire(): ModuleRequire {
  const chunks = (globalThis as { rspackChunk?: { push: (chunk: unknown) => unknown } }).rspackChunk;
  if (!chunks || typeof chunks.push !== "function") {
    throw new Error("NeuroNova: OHIF's rspackChunk loader is missing (dist changed?)");
  }
  let found: ModuleRequire | undefined;
  chunks.push([[`neuronova-host-${Date.now()}`], {}, (require: ModuleRequire) => { found = require; }]);
  if (!found) throw new Error("NeuroNova: could not obtain OHIF's module loader");
  return found;
}

/** @ohif/core's DicomMetadataStore: the study metadata OHIF makes display sets from (adding
 *  instances there fires INSTANCES_ADDED, on which the mode's route makes their display sets). */
export interface MetadataStore {
  addInstances(instances: Record<string, unknown>[], madeInClient?: boolean): void;
  getSeries(studyInstanceUID: string, seriesInstanceUID: string): unknown;
  EVENTS: { INSTANCES_ADDED: string };
}

/** @ohif/core in @ohif/app 3.13.2 (its exports' names are minified: found by shape). */
export const OHIF_CORE_MODULE_ID = 50679;
export const INSTANCES_ADDED = "event::dicomMetadataStore:instancesAdded";

export function looksLikeMetadataStore(candidate: unknown): candidate is MetadataStore {
  const value = candidate as Partial<MetadataStore> | null;
  return (
    !!value &&
    typeof value.addInstances === "function" &&
    typeof value.getSeries === "function" &&
    value.EVENTS?.INSTANCES_ADDED === INSTANCES_ADDED
  );
}

function storeAmongExports(exports: unknown): MetadataStore | undefined {
  if (!exports || typeof exports !== "object") return undefined;
  for (const key of Object.keys(exports)) {
    try {
      const value = (exports as Record<string, unknown>)[key];
      if (looksLikeMetadataStore(value)) return value;
    } catch {
      // an export not initialised yet: not the store
    }
  }
  return undefined;
}

/** A module of the host bundle: `pick(require(pinned))`, else the first module whose source holds
 *  every marker and that `pick` accepts (warning that the pin moved); undefined if none. */
export function findHostModule<T>(
  require: ModuleRequire, pinned: number, name: string, markers: string[], pick: (exports: unknown) => T | undefined,
): T | undefined {
  try {
    const found = pick(require(pinned));
    if (found !== undefined) return found;
  } catch {
    // fall through to the search
  }
  for (const [id, factory] of Object.entries(require.m ?? {})) {
    const source = String(factory);
    if (!markers.every((marker) => source.includes(marker))) continue;
    try {
      const found = pick(require(id));
      if (found !== undefined) {
        console.warn(`NeuroNova: ${name} found in module ${id}, not ${pinned}; update the pin`);
        return found;
      }
    } catch {
      // not loadable here: keep looking
    }
  }
  return undefined;
}

export function findMetadataStore(require: ModuleRequire): MetadataStore | undefined {
  return findHostModule(require, OHIF_CORE_MODULE_ID, "DicomMetadataStore", [INSTANCES_ADDED], storeAmongExports);
}
