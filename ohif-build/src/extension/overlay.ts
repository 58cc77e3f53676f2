// Shows / hides the AI SEG on the active viewport through OHIF's own services.
// Show = the same path as double-clicking a SEG thumbnail (hydrateSecondaryDisplaySet puts the
// referenced source series in the viewport and attaches the labelmap); if no representation
// appears, fall back to loading the SEG display set and adding the representation directly.

/* Minimal shapes of the OHIF services we touch (OHIF ships no types in its dist). */
export interface DisplaySet {
  displaySetInstanceUID: string;
  SeriesInstanceUID: string;
  Modality: string;
  referencedDisplaySetInstanceUID?: string;
  referencedSeriesInstanceUID?: string | null;
  isReconstructable?: boolean;
  FrameOfReferenceUID?: string;
  SeriesDate?: string;
  SeriesTime?: string;
  load?: (options: { headers: Record<string, string> }) => Promise<void>;
}

export interface Services {
  displaySetService: { getActiveDisplaySets: () => DisplaySet[] };
  viewportGridService: {
    getActiveViewportId: () => string;
    getDisplaySetsUIDsForViewport?: (viewportId: string) => string[];
    getState?: () => { viewports?: Map<string, { displaySetInstanceUIDs?: string[] }> };
  };
  segmentationService: {
    getSegmentationRepresentations: (viewportId: string, specifier?: { segmentationId?: string }) => { visible?: boolean }[];
    addSegmentationRepresentation: (viewportId: string, options: { segmentationId: string }) => Promise<void>;
    removeRepresentationsFromViewport: (viewportId: string, specifier: { segmentationId: string }) => void;
    getSegmentation?: (segmentationId: string) => { segments?: Record<string, { label?: string } | null> } | undefined;
    getSegmentColor?: (viewportId: string, segmentationId: string, segmentIndex: number) => number[] | undefined;
    setActiveSegmentation?: (viewportId: string, segmentationId: string) => void;
    setActiveSegment?: (segmentationId: string, segmentIndex: number) => void;
  };
  userAuthenticationService?: { getAuthorizationHeader?: () => Record<string, string> | undefined };
}

export interface Commands {
  runCommand: (name: string, options: Record<string, unknown>) => unknown;
}

/** The SEG to show: the report's series if named, else the newest SEG in the study. */
export function findSegDisplaySet(displaySets: DisplaySet[], segSeriesUid: string | null): DisplaySet | undefined {
  const segs = displaySets.filter((ds) => ds.Modality === "SEG");
  if (segSeriesUid) return segs.find((ds) => ds.SeriesInstanceUID === segSeriesUid);
  return [...segs].sort((a, b) =>
    `${b.SeriesDate ?? ""}${b.SeriesTime ?? ""}`.localeCompare(`${a.SeriesDate ?? ""}${a.SeriesTime ?? ""}`),
  )[0];
}

export function isOverlayVisible(
  services: Services, segmentationId: string, viewportId = services.viewportGridService.getActiveViewportId(),
): boolean {
  return services.segmentationService
    .getSegmentationRepresentations(viewportId, { segmentationId })
    .some((representation) => representation.visible !== false);
}

async function settle(check: () => boolean, tries = 40): Promise<boolean> {
  for (let i = 0; i < tries; i += 1) {
    if (check()) return true;
    await new Promise((resolve) => requestAnimationFrame(() => resolve(null)));
  }
  return check();
}

export async function showOverlay(
  services: Services, commands: Commands, seg: DisplaySet, viewportId = services.viewportGridService.getActiveViewportId(),
): Promise<boolean> {
  const segmentationId = seg.displaySetInstanceUID;
  const visible = () => isOverlayVisible(services, segmentationId, viewportId);
  await commands.runCommand("hydrateSecondaryDisplaySet", { displaySet: seg, viewportId });
  if (await settle(visible)) return true;
  const headers = services.userAuthenticationService?.getAuthorizationHeader?.() ?? {};
  await seg.load?.({ headers });
  await services.segmentationService.addSegmentationRepresentation(viewportId, { segmentationId });
  return settle(visible);
}

export function hideOverlay(services: Services, seg: DisplaySet, viewportId = services.viewportGridService.getActiveViewportId()): void {
  services.segmentationService.removeRepresentationsFromViewport(viewportId, {
    segmentationId: seg.displaySetInstanceUID,
  });
}

/** Each viewport and the display sets it shows (one entry: the active viewport, if the grid
 *  cannot say). */
export function viewportsOf(services: Services): { viewportId: string; displaySetUIDs: string[] }[] {
  const grid = services.viewportGridService;
  const viewports = grid.getState?.().viewports;
  if (!viewports || viewports.size === 0) {
    const viewportId = grid.getActiveViewportId();
    return [{ viewportId, displaySetUIDs: grid.getDisplaySetsUIDsForViewport?.(viewportId) ?? [] }];
  }
  return [...viewports.entries()].map(([viewportId, viewport]) => ({
    viewportId, displaySetUIDs: viewport.displaySetInstanceUIDs ?? [],
  }));
}

/** The newest SEG drawn on `displaySetUID` (current vs prior: each side's own segmentation). */
export function segForSeries(displaySets: DisplaySet[], displaySetUID: string): DisplaySet | undefined {
  return findSegDisplaySet(displaySets.filter((ds) => ds.referencedDisplaySetInstanceUID === displaySetUID), null);
}

/** The colours the viewer paints each segment with, by segment label (to key the AI panel). */
export function segmentColors(services: Services, segmentationId: string): Record<string, number[]> {
  const viewportId = services.viewportGridService.getActiveViewportId();
  const { getSegmentation, getSegmentColor } = services.segmentationService;
  const segments = getSegmentation?.call(services.segmentationService, segmentationId)?.segments ?? {};
  const colors: Record<string, number[]> = {};
  for (const [index, segment] of Object.entries(segments)) {
    const color = getSegmentColor?.call(services.segmentationService, viewportId, segmentationId, Number(index));
    if (segment?.label && color) colors[segment.label] = color.slice(0, 3);
  }
  return colors;
}

/** The segments of a loaded segmentation, by segment number (the brush paints the active one). */
export function segmentLabels(services: Services, segmentationId: string): { index: number; label: string }[] {
  const segments = services.segmentationService.getSegmentation?.call(services.segmentationService, segmentationId)?.segments ?? {};
  return Object.entries(segments)
    .filter(([, segment]) => !!segment)
    .map(([index, segment]) => ({ index: Number(index), label: segment?.label ?? `#${index}` }))
    .sort((a, b) => a.index - b.index);
}

/** A SEG drawn on the series it names first, not on another one it also references.
 *  OHIF 3.13's SEG handler takes the first display set, in its cache's order, among those of
 *  every referenced series: an edited SEG references the source series and the AI SEG (edit.ts),
 *  and when the AI SEG's display set came first it was taken as the image series ("Image not
 *  present in stack", nothing drawn: seen right after a save; after a reload the same code
 *  decides). The handler's own `referencedSeriesInstanceUID` is the first item of
 *  ReferencedSeriesSequence (the source series): each SEG whose display set points elsewhere is
 *  pointed at that series' display set, with the fields OHIF copies from it. Returns the SEGs
 *  repointed. */
export function repointSegs(added: DisplaySet[], all: DisplaySet[]): DisplaySet[] {
  const repointed: DisplaySet[] = [];
  for (const seg of added) {
    const wanted = seg.referencedSeriesInstanceUID;
    if (seg.Modality !== "SEG" || !wanted) continue;
    const current = all.find((ds) => ds.displaySetInstanceUID === seg.referencedDisplaySetInstanceUID);
    if (!current || current.SeriesInstanceUID === wanted) continue;
    const source = all.find((ds) => ds.SeriesInstanceUID === wanted && ds.Modality !== "SEG");
    if (!source) continue;
    seg.referencedDisplaySetInstanceUID = source.displaySetInstanceUID;
    seg.isReconstructable = source.isReconstructable;
    seg.FrameOfReferenceUID = source.FrameOfReferenceUID;
    repointed.push(seg);
  }
  return repointed;
}
