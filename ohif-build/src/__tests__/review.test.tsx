// The panel's review states and what each role is offered (react-dom/server, no portal).
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import React from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { AiPanel } from "../extension/AiPanel";
import type { Commands, Services } from "../extension/overlay";
import type { Report } from "../extension/portal-api";
import { checkDecision, panelActions, reviewOf } from "../extension/review";
import { ReviewSection, type ReviewSectionProps } from "../extension/ReviewSection";

const globals = globalThis as { window?: unknown; localStorage?: unknown };
beforeEach(() => {
  globals.window = { location: { search: "?StudyInstanceUIDs=1.2.3", pathname: "/pacs-viewer/ai" } };
  globals.localStorage = { getItem: () => "en" };
});
afterEach(() => {
  delete globals.window;
  delete globals.localStorage;
});

const services = {} as Services;
const commands = {} as Commands;
const done: Report = {
  status: "done", model_id: "m", model_version: "1", seg_series_uid: "1.2.3.4",
  labels: [{ label: "Enhancing tumour", volume_ml: 2.5 }],
};

function panel(role: string | null, report: Report | null) {
  return renderToStaticMarkup(<AiPanel services={services} commands={commands} initialRole={role} initialReport={report} />);
}

const REVIEW_BUTTONS = ["neuronova-review-accept", "neuronova-review-reject", "neuronova-review-edit"];

test("a radiologist gets Accept / Reject / Edit and re-analysis on a pending, unsigned result", () => {
  const html = panel("radiologist", done);
  for (const id of [...REVIEW_BUTTONS, "neuronova-ai-reanalyze"]) assert.ok(html.includes(`data-testid="${id}"`), id);
  assert.match(html, /data-state="pending_review"/);
  assert.match(html, /data-signed="false"/);
  assert.ok(html.includes("Unsigned") && html.includes("Pending review"), html);
});

test("a clinician sees the review state but no review buttons and no re-analysis", () => {
  const html = panel("clinician", done);
  for (const id of [...REVIEW_BUTTONS, "neuronova-ai-reanalyze", "neuronova-sign-form"]) {
    assert.ok(!html.includes(`data-testid="${id}"`), `${id} shown to a clinician`);
  }
  assert.match(html, /data-testid="neuronova-review-unsigned"/);
});

test("an admin may re-analyse but not review; an unknown role gets nothing", () => {
  const admin = panel("admin", done);
  assert.ok(admin.includes('data-testid="neuronova-ai-reanalyze"'));
  for (const id of REVIEW_BUTTONS) assert.ok(!admin.includes(id), id);
  const nobody = panel(null, done);
  for (const id of [...REVIEW_BUTTONS, "neuronova-ai-reanalyze"]) assert.ok(!nobody.includes(id), id);
});

test("no review block until a result is done; no review buttons without a SEG", () => {
  assert.ok(!panel("radiologist", { ...done, status: "running" }).includes('data-testid="neuronova-review"'));
  assert.deepEqual(panelActions("radiologist", "done", { ...done, seg_series_uid: null }), { review: false, reanalyze: true });
  assert.equal(reviewOf(null), null);
});

test("a signed result names its reviewer and impression, without the unsigned mark", () => {
  const html = panel("clinician", {
    ...done,
    review: { state: "edited", signed: true, reviewer: "radiologist", reviewed_at: "2026-12-03T10:00:00Z", impression: "Grew 10 %." },
  });
  assert.match(html, /data-state="edited"/);
  assert.match(html, /data-signed="true"/);
  assert.ok(html.includes("Signed by radiologist"), html);
  assert.ok(html.includes("Grew 10 %."));
  assert.ok(!html.includes("neuronova-review-unsigned"));
});

const noop = async () => true;
function section(extra: Partial<ReviewSectionProps>) {
  return renderToStaticMarkup(
    <ReviewSection lang="en" report={done} canReview busy={false} tool={null} segments={[]}
      onEditStart={noop} onEditEnd={() => undefined} onTool={() => undefined} onSegment={() => undefined}
      onSign={noop} {...extra} />,
  );
}

test("reject asks for a reason; edit shows OHIF's brush, eraser and threshold tools", () => {
  const reject = section({ initialMode: "reject" });
  assert.match(reject, /data-decision="rejected"/);
  assert.ok(reject.includes("neuronova-review-reason") && reject.includes("neuronova-review-impression-input"));
  const edit = section({ initialMode: "edit", tool: "brush", segments: [{ index: 1, label: "A" }, { index: 2, label: "B" }] });
  assert.match(edit, /data-decision="edited"/);
  for (const id of ["neuronova-tool-brush", "neuronova-tool-eraser", "neuronova-tool-threshold", "neuronova-edit-segment"]) {
    assert.ok(edit.includes(id), id);
  }
  assert.match(edit, /aria-pressed="true"[^>]*data-testid="neuronova-tool-brush"/);
  assert.ok(edit.includes("Save edit and sign"));
  assert.ok(!section({ initialMode: "edit", canReview: false }).includes("neuronova-edit-tools"));
});

test("the sign form wants an impression, and a reason to reject", () => {
  assert.equal(checkDecision("accepted", "  ", ""), "impressionRequired");
  assert.equal(checkDecision("rejected", "No tumour.", ""), "reasonRequired");
  assert.equal(checkDecision("rejected", "No tumour.", "artefact"), null);
  assert.equal(checkDecision("edited", "Extended margin.", ""), null);
});

test("Korean review labels", () => {
  globals.localStorage = { getItem: () => "ko" };
  const html = panel("radiologist", done);
  for (const word of ["검토 대기", "미서명", "승인", "반려", "수정"]) assert.ok(html.includes(word), word);
  assert.ok(!html.includes("Pending review"));
});
