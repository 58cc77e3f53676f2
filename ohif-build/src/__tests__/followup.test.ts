// Tumour volumes over time, current vs prior, and the edited SEG's description (pure parts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { COMPARE_PROTOCOL_ID, compareProtocol, compareUrl, isSegmented, sequenceOf } from "../extension/compare";
import { activateTool, addEditTools, describeEditedSeg, EDIT_TOOLS, type EditServices } from "../extension/edit";
import { formatChange, normaliseTrend, priorOf } from "../extension/trend";

const API = {
  patient_id: "P1",
  studies: [
    { study_uid: "2", study_date: "20260401", review_state: "accepted", total_ml: 11.5, volumes_ml: { A: 10, B: 1.5 },
      change_vs_previous: { ml: 1.5, pct: 15 }, change_vs_nadir: { ml: 1.5, pct: 15 } },
    { study_uid: "1", study_date: "20260101", review_state: "pending_review", total_ml: 10, volumes_ml: { A: 9, B: 1 },
      change_vs_previous: null, change_vs_nadir: null },
    { study_uid: "3", study_date: "20260701", labels: [{ label: "A", volume_ml: 7 }, { label: "B", volume_ml: 1 }],
      change_vs_previous_ml: -3.5, change_vs_previous_pct: -30.4 },
  ],
};

test("the API's rows come back in date order, totals from the labels when absent", () => {
  const points = normaliseTrend(API);
  assert.deepEqual(points.map((p) => p.study_uid), ["1", "2", "3"]);
  assert.equal(points[2].total_ml, 8);
  assert.deepEqual(points[2].change_previous, { ml: -3.5, pct: -30.4 });
  assert.deepEqual(points[1].change_nadir, { ml: 1.5, pct: 15 });
  assert.deepEqual(normaliseTrend(null), []);
});

test("the prior is the study before this one; the first study has none", () => {
  const points = normaliseTrend(API);
  assert.equal(priorOf(points, "3")?.prior.study_uid, "2");
  assert.equal(priorOf(points, "1"), null);
  assert.equal(priorOf(points, "unknown"), null);
});

test("changes are signed and locale-formatted", () => {
  assert.equal(formatChange({ ml: 1.5, pct: 15 }, "en-US"), "+1.50 mL (+15 %)");
  assert.equal(formatChange({ ml: -3.456, pct: -30.44 }, "ko-KR"), "-3.46 mL (-30.4 %)");
  assert.equal(formatChange({ ml: 0, pct: null }, "en-US"), "0.00 mL");
});

test("the sequence is read from the many spellings of a series description", () => {
  const cases: [string, string][] = [
    ["AX T1 SE +C", "T1c"], ["t1_se_tra POST", "T1c"], ["T1W_SE_AX GD", "T1c"], ["SAG T1 MPRAGE +C", "T1c"],
    ["AX T1 SE", "T1"], ["t1_mprage_sag_iso", "T1"], ["AX T2 TSE", "T2"], ["t2_tirm_tra_dark-fluid", "FLAIR"],
    ["3D FLAIR VISTA AX", "FLAIR"], ["NeuroNova AI segmentation", ""],
  ];
  for (const [description, sequence] of cases) assert.equal(sequenceOf(description), sequence, description);
});

test("current vs prior: two viewports, study 0 left and study 1 right, both preferring T1+C", () => {
  const stage = compareProtocol.stages[0];
  assert.deepEqual(stage.viewportStructure.properties, { rows: 1, columns: 2 });
  assert.deepEqual(stage.viewports.map((v) => v.displaySets[0].id), ["currentDisplaySetId", "priorDisplaySetId"]);
  const { currentDisplaySetId, priorDisplaySetId } = compareProtocol.displaySetSelectors;
  assert.equal(currentDisplaySetId.studyMatchingRules[0].constraint.equals.value, 0);
  assert.equal(priorDisplaySetId.studyMatchingRules[0].constraint.equals.value, 1);
  assert.deepEqual(currentDisplaySetId.seriesMatchingRules, priorDisplaySetId.seriesMatchingRules);
  const weights: Record<string, number> = Object.fromEntries(
    priorDisplaySetId.seriesMatchingRules.filter((r) => r.attribute === "neuronovaSequence")
      .map((r) => [String(r.constraint.equals?.value), Number(r.weight)]),
  );
  assert.ok(weights.T1c > weights.T1 && weights.T1 > weights.FLAIR, JSON.stringify(weights));
  assert.equal(compareUrl("/pacs-viewer/ai", "1.2", "1.1"),
    `/pacs-viewer/ai?StudyInstanceUIDs=1.2,1.1&hangingProtocolId=${COMPARE_PROTOCOL_ID}`);
});

test("the edited SEG names its creator, keeps the AI's coded segments and references the AI SEG", () => {
  const aiSeg = {
    SeriesInstanceUID: "9.9", SOPInstanceUID: "9.9.1", SOPClassUID: "1.2.840.10008.5.1.4.1.1.66.4",
    SegmentSequence: [{ SegmentNumber: 1, SegmentLabel: "Enhancing tumour", SegmentAlgorithmName: "nn-brain",
      SegmentedPropertyTypeCodeSequence: [{ CodeValue: "C1", CodingSchemeDesignator: "SCT", CodeMeaning: "X" }] }],
  };
  const generated = {
    SeriesInstanceUID: "5.5", StudyID: "No Study ID",
    ReferencedSeriesSequence: { SeriesInstanceUID: "1.1", ReferencedInstanceSequence: [] },
    SegmentSequence: [{ SegmentNumber: 1, SegmentLabel: "Enhancing tumour", SegmentAlgorithmType: "MANUAL",
      SegmentedPropertyTypeCodeSequence: { CodeValue: "T-D0050", CodeMeaning: "Tissue" } }],
  };
  const out = describeEditedSeg(generated, { creator: "radiologist", aiSeg, seriesDescription: "edit" });
  assert.equal(out.ContentCreatorName, "radiologist");
  assert.equal(out.StudyID, "");
  const refs = out.ReferencedSeriesSequence as { SeriesInstanceUID: string }[];
  assert.deepEqual(refs.map((r) => r.SeriesInstanceUID), ["1.1", "9.9"], "source series first, then the AI SEG");
  const [segment] = out.SegmentSequence as Record<string, unknown>[];
  assert.deepEqual(segment.SegmentedPropertyTypeCodeSequence, aiSeg.SegmentSequence[0].SegmentedPropertyTypeCodeSequence);
  assert.equal(segment.SegmentAlgorithmType, "SEMIAUTOMATIC");
  describeEditedSeg(out, { creator: "radiologist", aiSeg, seriesDescription: "edit" });
  assert.equal((out.ReferencedSeriesSequence as unknown[]).length, 2, "idempotent");
});

test("the edit tools join the tool group once, and the chosen one takes the primary button", () => {
  const calls: string[] = [];
  const tools = new Set(["WindowLevel"]);
  let primary = "WindowLevel";
  const group = {
    hasTool: (name: string) => tools.has(name),
    addToolInstance: (name: string, parent: string) => { tools.add(name); calls.push(`add ${name}<${parent}`); },
    setToolActive: (name: string) => { primary = name; calls.push(`active ${name}`); },
    setToolPassive: (name: string) => calls.push(`passive ${name}`),
    getActivePrimaryMouseButtonTool: () => primary,
  };
  addEditTools(group);
  addEditTools(group);
  assert.equal(calls.filter((c) => c.startsWith("add")).length, 3);
  const services = {
    viewportGridService: { getActiveViewportId: () => "vp" },
    toolGroupService: { getToolGroup: () => group },
  } as unknown as EditServices;
  activateTool(services, "eraser");
  assert.equal(primary, EDIT_TOOLS.eraser);
  assert.ok(calls.includes("passive WindowLevel"));
  activateTool(services, null);
  assert.equal(primary, "WindowLevel");
});

test("both sides prefer the series their study's SEG is drawn on, above any sequence", () => {
  const t1 = { SeriesInstanceUID: "t1", Modality: "MR", SeriesDescription: "AX T1 SE" };
  const t1c = { SeriesInstanceUID: "t1c", Modality: "MR", SeriesDescription: "AX T1 SE +C" };
  const seg = { SeriesInstanceUID: "s", Modality: "SEG", referencedSeriesInstanceUID: "t1" };
  assert.equal(isSegmented(t1, [t1, t1c, seg]), true);
  assert.equal(isSegmented(t1c, [t1, t1c, seg]), false);
  assert.equal(isSegmented(t1, [t1, t1c]), false);
  const rules = compareProtocol.displaySetSelectors.priorDisplaySetId.seriesMatchingRules;
  const segmented = rules.find((r) => r.attribute === "neuronovaSegmented");
  const best = Math.max(...rules.filter((r) => r.attribute === "neuronovaSequence").map((r) => Number(r.weight)));
  assert.ok(segmented && Number(segmented.weight) > best);
});

test("the prior is the study the server measured against, skipping a study without a result", () => {
  const points = normaliseTrend({ studies: [
    { study_uid: "a", study_date: "20260101", total_ml: 10 },
    { study_uid: "b", study_date: "20260201", total_ml: null },
    { study_uid: "c", study_date: "20260301", total_ml: 12,
      change_vs_previous: { ml: 2, percent: 20, base_ml: 10, base_study_uid: "a" } },
  ] });
  assert.equal(priorOf(points, "c")?.prior.study_uid, "a");
  assert.deepEqual(points[2].change_previous, { ml: 2, pct: 20, base_study_uid: "a" });
});
