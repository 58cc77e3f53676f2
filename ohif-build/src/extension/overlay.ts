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
  SeriesDate?: string;
  SeriesTime?: string;
  load?: (options: { headers: Record<string, string> }) => Promise<void>;
}

export interface Services {
  displaySetService: { getActiveDisplaySets: () => DisplaySet[] };
  viewportGridService: {
    getActiveViewportId: () => string;
    getDisplaySetsUIDsForViewport?: (viewportId: string) => string[];
  };
  segmentationService: {
    getSegmentationRepresentations: (viewportId: string, specifier?: { segmentationId?: string }) => { visible?: boolean }[];
    addSegmentationRepresentation: (viewportId: string, options: { segmentationId: string }) => Promise<void>;
    removeRepresentationsFromViewport: (viewportId: string, specifier: { segmentationId: string }) => void;
    getSegmentation?: (segmentationId: string) => { segments?: Record<string, { label?: string } | null> } | undefined;
    getSegmentColor?: (viewportId: string, segmentationId: string, segmentIndex: number) => number[] | undefined;
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

export function isOverlayVisible(services: Services, segmentationId: string): boolean {
  const viewportId = services.viewportGridService.getActiveViewportId();
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

export async function showOverlay(services: Services, commands: Commands, seg: DisplaySet): Promise<boolean> {
  const viewportId = services.viewportGridService.getActiveViewportId();
  const segmentationId = seg.displaySetInstanceUID;
  await commands.runCommand("hydrateSecondaryDisplaySet", { displaySet: seg, viewportId });
  if (await settle(() => isOverlayVisible(services, segmentationId))) return true;
  const headers = services.userAuthenticationService?.getAuthorizationHeader?.() ?? {};
  await seg.load?.({ headers });
  const activeViewportId = services.viewportGridService.getActiveViewportId();
  await services.segmentationService.addSegmentationRepresentation(activeViewportId, { segmentationId });
  return settle(() => isOverlayVisible(services, segmentationId));
}

export function hideOverlay(services: Services, seg: DisplaySet): void {
  const viewportId = services.viewportGridService.getActiveViewportId();
  services.segmentationService.removeRepresentationsFromViewport(viewportId, {
    segmentationId: seg.displaySetInstanceUID,
  });
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
