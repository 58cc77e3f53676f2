// Current vs prior: an OHIF hanging protocol that puts the current study (left) beside the prior
// (right), showing the same MR sequence in both, and the viewer URL that opens it. OHIF reads the
// protocol from `hangingProtocolId=` and the studies from `StudyInstanceUIDs=` (current first).
// "Same sequence" is decided from SeriesDescription (scanners spell it many ways) by
// `sequenceOf`, registered as the custom attribute `neuronovaSequence`. Both sides prefer the
// series a SEG of their study is drawn on (`neuronovaSegmented`: the AI segments every study on the
// same sequence, so both show it, each with its own segmentation), then the post-contrast T1
// where a tumour is read, then T1, FLAIR, T2.

export const COMPARE_PROTOCOL_ID = "neuronova.currentPrior";
export const SEQUENCE_ATTRIBUTE = "neuronovaSequence";
export const SEGMENTED_ATTRIBUTE = "neuronovaSegmented";

export type Sequence = "T1c" | "T1" | "T2" | "FLAIR" | "";

/** The MR sequence a series description names (same rules as the AI's series selection, loosely). */
export function sequenceOf(description: string | undefined | null): Sequence {
  const text = (description ?? "").toUpperCase();
  if (/FLAIR|DARK-FLUID|TIRM/.test(text)) return "FLAIR";
  if (/T2/.test(text)) return "T2";
  if (/T1|MPRAGE|TFE|FLASH/.test(text)) return /\+C|POST|\bGD\b|GAD|CONTRAST/.test(text) ? "T1c" : "T1";
  return "";
}

const PREFERENCE: [Sequence, number][] = [["T1c", 40], ["T1", 30], ["FLAIR", 20], ["T2", 10]];

function selector(studyIndex: number) {
  return {
    studyMatchingRules: [
      { attribute: "studyInstanceUIDsIndex", from: "options", required: true, constraint: { equals: { value: studyIndex } } },
    ],
    seriesMatchingRules: [
      { attribute: "numImageFrames", constraint: { greaterThan: { value: 0 } }, required: true },
      { attribute: "Modality", constraint: { equals: { value: "MR" } }, weight: 5 },
      { attribute: SEGMENTED_ATTRIBUTE, constraint: { equals: { value: true } }, weight: 80 },
      ...PREFERENCE.map(([sequence, weight]) => ({
        attribute: SEQUENCE_ATTRIBUTE, constraint: { equals: { value: sequence } }, weight,
      })),
    ],
  };
}

const viewportOptions = { viewportType: "stack", toolGroupId: "default", allowUnmatchedView: true };

export const compareProtocol = {
  id: COMPARE_PROTOCOL_ID,
  name: "NeuroNova: current vs prior",
  description: "Current study beside the prior one, same MR sequence",
  numberOfPriorsReferenced: 1,
  protocolMatchingRules: [
    { id: "TwoStudies", weight: 1000, attribute: "StudyInstanceUID", from: "prior", required: true, constraint: { notNull: true } },
  ],
  toolGroupIds: ["default"],
  displaySetSelectors: { currentDisplaySetId: selector(0), priorDisplaySetId: selector(1) },
  defaultViewport: { viewportOptions, displaySets: [{ id: "currentDisplaySetId", matchedDisplaySetsIndex: -1 }] },
  stages: [
    {
      id: "currentPrior",
      name: "1x2",
      stageActivation: { enabled: { minViewportsMatched: 2 } },
      viewportStructure: { layoutType: "grid", properties: { rows: 1, columns: 2 } },
      viewports: [
        { viewportOptions: { ...viewportOptions, viewportId: "neuronova-current" }, displaySets: [{ id: "currentDisplaySetId" }] },
        { viewportOptions: { ...viewportOptions, viewportId: "neuronova-prior" }, displaySets: [{ id: "priorDisplaySetId" }] },
      ],
    },
  ],
};

/** The viewer URL showing `current` beside `prior` (same path and mode as the one open now). */
export function compareUrl(pathname: string, current: string, prior: string): string {
  const params = new URLSearchParams({ StudyInstanceUIDs: `${current},${prior}`, hangingProtocolId: COMPARE_PROTOCOL_ID });
  return `${pathname}?${params.toString().replace(/%2C/g, ",")}`;
}

interface SeriesLike {
  SeriesDescription?: string;
  SeriesInstanceUID?: string;
  Modality?: string;
  referencedSeriesInstanceUID?: string | null;
}

interface HangingProtocolService {
  addCustomAttribute: (id: string, name: string, callback: (displaySet: SeriesLike) => unknown) => void;
}

/** Whether a SEG among `displaySets` is drawn on `series`. */
export function isSegmented(series: SeriesLike | undefined, displaySets: SeriesLike[]): boolean {
  return !!series?.SeriesInstanceUID && displaySets.some(
    (ds) => ds.Modality === "SEG" && ds.referencedSeriesInstanceUID === series.SeriesInstanceUID,
  );
}

export function registerCompareAttributes(
  service: HangingProtocolService | undefined, displaySets: () => SeriesLike[],
): void {
  service?.addCustomAttribute(SEQUENCE_ATTRIBUTE, "MR sequence (NeuroNova)", (displaySet) => sequenceOf(displaySet?.SeriesDescription));
  service?.addCustomAttribute(SEGMENTED_ATTRIBUTE, "A SEG is drawn on it (NeuroNova)", (displaySet) => isSegmented(displaySet, displaySets()));
}
