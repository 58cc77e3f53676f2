// Editing the AI SEG with OHIF's own segmentation tools, and storing the edit as a new SEG.
// Tools: cornerstone's Brush tool under OHIF's names (CircularBrush, CircularEraser,
// ThresholdCircularBrushDynamic), added to the active viewport's tool group on first use
// (mode-basic has no brush); the panel makes one of them the primary-button tool. The threshold
// brush is OHIF's dynamic one: it paints only voxels whose intensity is like those under the
// cursor's centre, so it needs no range input.
// Save: OHIF's `generateSegmentation` command (the @cornerstonejs/adapters SEG writer) builds the
// dataset from the labelmap being edited; the panel names the radiologist as content creator,
// restores the AI's coded segment properties, adds the AI SEG to the referenced series, and
// stores it through the data source's own STOW-RS (dcmjs writes the Part 10 file), with the
// portal's CSRF header on that one request.
// Shown at once: once stored, the dataset is added to OHIF's DicomMetadataStore as OHIF's own store
// command (`createStoreFunction`) does, so the mode makes its display set (study browser, "Show AI
// overlay") without a reload. That command is not used: it stores without our CSRF header, and
// adds the series before the store has succeeded.
import { findMetadataStore, hostRequire, type MetadataStore } from "./host-modules";
import { csrfHeaders } from "./portal-api";
import type { DisplaySet, Services } from "./overlay";

export const EDIT_TOOLS = {
  brush: "CircularBrush",
  eraser: "CircularEraser",
  threshold: "ThresholdCircularBrushDynamic",
} as const;
export type EditTool = keyof typeof EDIT_TOOLS;
const DEFAULT_TOOL = "WindowLevel";
const PRIMARY = 1; // cornerstone MouseBindings.Primary
export const BINARY_SEG = "1.2.840.10008.5.1.4.1.1.66.4";
export const EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1";

interface ToolGroup {
  hasTool: (name: string) => boolean;
  addToolInstance: (name: string, parent: string, configuration?: Record<string, unknown>) => void;
  setToolActive: (name: string, options: { bindings: { mouseButton: number }[] }) => void;
  setToolPassive: (name: string) => void;
  getActivePrimaryMouseButtonTool?: () => string | undefined;
}

export interface EditServices extends Services {
  toolGroupService: {
    getToolGroup: (id?: string) => ToolGroup | undefined;
    getToolGroupForViewport?: (viewportId: string) => ToolGroup | undefined;
  };
}

/** The brush, eraser and threshold brush in a tool group (idempotent; passive until chosen). */
export function addEditTools(toolGroup: ToolGroup | undefined): void {
  if (!toolGroup) return;
  const add = (name: string, configuration: Record<string, unknown>) => {
    if (!toolGroup.hasTool(name)) toolGroup.addToolInstance(name, "Brush", configuration);
  };
  add(EDIT_TOOLS.brush, { activeStrategy: "FILL_INSIDE_CIRCLE", brushSize: 6 });
  add(EDIT_TOOLS.eraser, { activeStrategy: "ERASE_INSIDE_CIRCLE", brushSize: 6 });
  add(EDIT_TOOLS.threshold, {
    activeStrategy: "THRESHOLD_INSIDE_CIRCLE", brushSize: 6, threshold: { isDynamic: true, dynamicRadius: 3 },
  });
}

function toolGroupOf(services: EditServices): ToolGroup | undefined {
  const viewportId = services.viewportGridService.getActiveViewportId();
  return services.toolGroupService.getToolGroupForViewport?.(viewportId) ?? services.toolGroupService.getToolGroup("default");
}

/** Makes `name` the primary-button tool of the active viewport's group (WindowLevel when null). */
export function activateTool(services: EditServices, tool: EditTool | null): void {
  const group = toolGroupOf(services);
  if (!group) return;
  addEditTools(group);
  const current = group.getActivePrimaryMouseButtonTool?.();
  if (current) group.setToolPassive(current);
  group.setToolActive(tool ? EDIT_TOOLS[tool] : DEFAULT_TOOL, { bindings: [{ mouseButton: PRIMARY }] });
}

type Naturalized = Record<string, unknown>;

function items(value: unknown): Naturalized[] {
  if (Array.isArray(value)) return value as Naturalized[];
  return value && typeof value === "object" ? [value as Naturalized] : [];
}

/** The AI SEG's instance (OHIF keeps the naturalized header on its display set). */
export function segInstance(seg: DisplaySet): Naturalized {
  const withInstance = seg as DisplaySet & { instance?: Naturalized; instances?: Naturalized[] };
  return withInstance.instance ?? withInstance.instances?.[0] ?? (seg as unknown as Naturalized);
}

export interface EditedSegOptions {
  creator: string;
  aiSeg: Naturalized;
  seriesDescription: string;
}

/** Turns the adapter's dataset into the reviewed SEG: who made it, what it derives from, the
 *  AI's coded segment meanings (the adapter writes a generic "Tissue" for every segment). */
export function describeEditedSeg(dataset: Naturalized, options: EditedSegOptions): Naturalized {
  const aiSegments = new Map(items(options.aiSeg.SegmentSequence).map((segment) => [segment.SegmentLabel, segment]));
  for (const segment of items(dataset.SegmentSequence)) {
    const ai = aiSegments.get(segment.SegmentLabel);
    if (ai) {
      for (const key of ["SegmentedPropertyCategoryCodeSequence", "SegmentedPropertyTypeCodeSequence", "RecommendedDisplayCIELabValue"]) {
        if (ai[key] !== undefined) segment[key] = ai[key];
      }
    }
    segment.SegmentAlgorithmType = "SEMIAUTOMATIC";
    segment.SegmentAlgorithmName = `${String(ai?.SegmentAlgorithmName ?? "AI")} + radiologist edit`.slice(0, 64);
  }
  dataset.ContentCreatorName = options.creator;
  dataset.ContentLabel = "EDITED";
  dataset.ContentDescription = "AI segmentation reviewed and edited by a radiologist";
  dataset.SeriesDescription = options.seriesDescription;
  if (dataset.StudyID === "No Study ID") dataset.StudyID = "";
  const referenced = items(dataset.ReferencedSeriesSequence);
  const aiSeries = String(options.aiSeg.SeriesInstanceUID ?? "");
  if (aiSeries && !referenced.some((item) => item.SeriesInstanceUID === aiSeries)) {
    referenced.push({
      SeriesInstanceUID: aiSeries,
      ReferencedInstanceSequence: [
        { ReferencedSOPClassUID: options.aiSeg.SOPClassUID, ReferencedSOPInstanceUID: options.aiSeg.SOPInstanceUID },
      ],
    });
  }
  // The source series stays first: OHIF names it the SEG's referenced series (its display set is
  // then chosen by cache order among both series' display sets: overlay.ts, repointSegs).
  dataset.ReferencedSeriesSequence = referenced;
  return dataset;
}

/** An XMLHttpRequest that adds the portal's CSRF header once opened (dicomweb-client takes it as
 *  `request`; the data source itself sends only an Authorization header). */
export function csrfRequest(): XMLHttpRequest {
  const xhr = new XMLHttpRequest();
  const open = xhr.open.bind(xhr) as (...args: unknown[]) => void;
  (xhr as unknown as { open: (...args: unknown[]) => void }).open = (...args: unknown[]) => {
    open(...args);
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
  };
  return xhr;
}

interface CornerstoneCache {
  cache: { getImage: (imageId: string) => { referencedImageId?: string } | undefined };
  imageLoader: { loadAndCacheImage: (imageId: string) => Promise<unknown> };
}

/** The adapter needs every referenced source image in cornerstone's cache: load the missing ones. */
async function loadReferencedImages(services: EditServices, segmentationId: string): Promise<void> {
  const cs = (window as { cornerstone?: CornerstoneCache }).cornerstone;
  const segmentation = (services.segmentationService.getSegmentation?.(segmentationId) ?? {}) as {
    representationData?: { Labelmap?: { imageIds?: string[] } };
  };
  const imageIds = segmentation.representationData?.Labelmap?.imageIds ?? [];
  if (!cs) return;
  for (const imageId of imageIds) {
    const source = cs.cache.getImage(imageId)?.referencedImageId;
    if (source && !cs.cache.getImage(source)) await cs.imageLoader.loadAndCacheImage(source);
  }
}

export interface DataSource {
  store?: { dicom?: (dataset: unknown, request: XMLHttpRequest) => Promise<unknown> };
  getConfig?: () => { wadoRoot?: string } | undefined;
  getImageIdsForInstance?: (options: { instance: Naturalized }) => string | undefined;
}

export interface StoreDeps {
  services: EditServices;
  runCommand: (name: string, options: Record<string, unknown>) => unknown;
  getDataSources: (name: string) => DataSource[];
  dataSourceName: string;
  /** The host's DicomMetadataStore (tests give their own). */
  metadataStore?: () => MetadataStore | undefined;
}

interface DisplaySetMaker {
  makeDisplaySets?: (instances: Naturalized[], options: { madeInClient?: boolean }) => unknown;
}

function hidden(instance: Naturalized, key: string, value: unknown): void {
  // OHIF's runtime fields are not DICOM attributes: non-enumerable, as OHIF defines them.
  Object.defineProperty(instance, key, { value, enumerable: false, writable: true, configurable: true });
}

/** Makes a stored instance part of the open study: OHIF's runtime fields (where its frames are
 *  fetched from), then DicomMetadataStore.addInstances, on which the mode's route makes the display
 *  set; without the store, the display set is made directly (no metadata for the SEG's frames
 *  then). Returns how it was added. The stored file is what loads: frames come from the server. */
export function addStoredInstance(
  instance: Naturalized, dataSource: DataSource, displaySetService: DisplaySetMaker, metadataStore: MetadataStore | undefined,
): "metadata-store" | "display-set" {
  const wadoRoot = dataSource.getConfig?.()?.wadoRoot;
  if (wadoRoot) hidden(instance, "wadoRoot", wadoRoot);
  const imageId = dataSource.getImageIdsForInstance?.({ instance });
  if (imageId) hidden(instance, "imageId", imageId);
  if (metadataStore) {
    metadataStore.addInstances([instance], true);
    return "metadata-store";
  }
  if (!displaySetService.makeDisplaySets) throw new Error("OHIF's displaySetService cannot make display sets");
  displaySetService.makeDisplaySets([instance], { madeInClient: true });
  return "display-set";
}

function hostMetadataStore(): MetadataStore | undefined {
  return findMetadataStore(hostRequire());
}

/** Builds the edited SEG from the labelmap shown for `seg` and stores it; returns its series UID. */
export async function storeEditedSeg(deps: StoreDeps, seg: DisplaySet, creator: string): Promise<string> {
  const segmentationId = seg.displaySetInstanceUID;
  await loadReferencedImages(deps.services, segmentationId);
  const generated = (await deps.runCommand("generateSegmentation", {
    segmentationId,
    // An empty predecessor: a new series, not a new instance in the AI SEG's series.
    // BINARY in Explicit VR Little Endian, as the AI's: OHIF 3.13 defaults to a LABELMAP SEG in RLE,
    // which pydicom (the portal counts the volumes) cannot decode at 1 bit. The adapter reads
    // both spellings of the transfer syntax option.
    options: {
      predecessorImageId: "", sopClassUID: BINARY_SEG,
      transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    },
  })) as { dataset?: Naturalized } | undefined;
  if (!generated?.dataset) throw new Error("the viewer produced no SEG");
  const dataset = describeEditedSeg(generated.dataset, {
    creator, aiSeg: segInstance(seg), seriesDescription: "AI segmentation (radiologist edit)",
  });
  const dataSource = deps.getDataSources(deps.dataSourceName)[0];
  const store = dataSource?.store?.dicom;
  if (!dataSource || !store) throw new Error("the data source cannot store");
  await store(dataset, csrfRequest());
  try {
    // Stored: a failure to show it now must not fail the save (a reload shows it).
    const found = (deps.metadataStore ?? hostMetadataStore)();
    if (!found) console.warn("NeuroNova: OHIF's DicomMetadataStore not found; the edited SEG gets a display set only");
    addStoredInstance(dataset, dataSource, deps.services.displaySetService as DisplaySetMaker, found);
  } catch (error) {
    console.warn("NeuroNova: the stored edit is not shown until a reload", error);
  }
  return String(dataset.SeriesInstanceUID);
}
