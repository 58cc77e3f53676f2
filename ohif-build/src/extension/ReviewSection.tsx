// The review part of the AI panel: the result's review state (unsigned results marked), and for a
// radiologist Accept / Reject (with a reason) / Edit (OHIF's brush, eraser and threshold brush on
// the AI segments), each signed with an impression. Clinicians see the state only.
import React, { useState } from "react";
import { fill, messages, LOCALES, type Lang } from "./i18n";
import type { EditTool } from "./edit";
import type { Report, ReviewDecision } from "./portal-api";
import { checkDecision, isUnsigned, reviewOf } from "./review";

export type ReviewMode = "idle" | "accept" | "reject" | "edit";

const box = { display: "grid", gap: "6px", borderTop: "1px solid #2b3a55", paddingTop: "8px" };
const button = {
  padding: "5px 9px", borderRadius: "4px", border: "1px solid #3a6fd8", background: "#1b2a4a",
  color: "#fff", cursor: "pointer", font: "inherit",
};
const pressed = { ...button, background: "#3a6fd8" };
const field = { width: "100%", boxSizing: "border-box" as const, background: "#0b1325", color: "#e6ecf5", border: "1px solid #3a4a66", borderRadius: "4px", padding: "4px", font: "inherit" };
const warn = { color: "#ffcf66", fontWeight: 600 };

export interface ReviewSectionProps {
  lang: Lang;
  report: Report | null;
  canReview: boolean;
  busy: boolean;
  tool: EditTool | null;
  segments: { index: number; label: string }[];
  initialMode?: ReviewMode;
  onEditStart: () => Promise<boolean>;
  onEditEnd: () => void;
  onTool: (tool: EditTool | null) => void;
  onSegment: (index: number) => void;
  /** Stores (for an edit) and signs; false when it failed (the panel says why, the form stays). */
  onSign: (decision: ReviewDecision, impression: string, reason: string) => Promise<boolean>;
}

export function formatWhen(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function ReviewSection(props: ReviewSectionProps) {
  const { lang, report, canReview, busy, tool } = props;
  const t = messages(lang);
  const review = reviewOf(report);
  const [mode, setMode] = useState<ReviewMode>(props.initialMode ?? "idle");
  const [impression, setImpression] = useState("");
  const [reason, setReason] = useState("");
  const [formError, setFormError] = useState<string | null>(null);
  if (!review) return null;

  const decision: ReviewDecision = mode === "reject" ? "rejected" : mode === "edit" ? "edited" : "accepted";
  const leave = () => {
    if (mode === "edit") props.onEditEnd();
    setMode("idle");
    setFormError(null);
  };
  const start = async (next: ReviewMode) => {
    if (next === "edit" && !(await props.onEditStart())) return;
    if (mode === "edit" && next !== "edit") props.onEditEnd();
    setMode(next);
    setFormError(null);
  };
  const submit = async () => {
    const problem = checkDecision(decision, impression, reason);
    if (problem) {
      setFormError(t[problem]);
      return;
    }
    setFormError(null);
    if (!(await props.onSign(decision, impression.trim(), reason.trim()))) return;
    if (mode === "edit") props.onEditEnd();
    setMode("idle");
    setImpression("");
    setReason("");
  };

  return (
    <div style={box} data-testid="neuronova-review" data-state={review.state} data-signed={review.signed ? "true" : "false"}>
      <div style={{ display: "flex", justifyContent: "space-between", gap: "8px" }}>
        <span style={{ color: "#9aa6b8" }}>{t.review}</span>
        <span data-testid="neuronova-review-state">
          {t.reviewStates[review.state] ?? review.state}
          {isUnsigned(review) && <span style={warn} data-testid="neuronova-review-unsigned"> · {t.unsigned}</span>}
        </span>
      </div>
      {review.signed && (
        <div style={{ color: "#9aa6b8" }} data-testid="neuronova-review-signer">
          {fill(t.signedBy, { reviewer: review.reviewer ?? "?", at: formatWhen(review.reviewed_at, lang) })}
        </div>
      )}
      {review.impression && <div data-testid="neuronova-review-impression">“{review.impression}”</div>}
      {review.reason && <div style={{ color: "#ff9a9a" }}>{t.reason}: {review.reason}</div>}
      {canReview && mode === "idle" && (
        <div style={{ display: "flex", gap: "6px", flexWrap: "wrap" }}>
          <button type="button" style={button} data-testid="neuronova-review-accept" disabled={busy} onClick={() => void start("accept")}>{t.accept}</button>
          <button type="button" style={button} data-testid="neuronova-review-reject" disabled={busy} onClick={() => void start("reject")}>{t.reject}</button>
          <button type="button" style={button} data-testid="neuronova-review-edit" disabled={busy} onClick={() => void start("edit")}>{t.edit}</button>
        </div>
      )}
      {canReview && mode === "edit" && (
        <div style={{ display: "grid", gap: "6px" }} data-testid="neuronova-edit-tools" role="group" aria-label={t.tools}>
          <div style={{ color: "#9aa6b8" }}>{t.editHint}</div>
          <div style={{ display: "flex", gap: "6px", flexWrap: "wrap" }}>
            {(["brush", "eraser", "threshold"] as const).map((name) => (
              <button
                key={name}
                type="button"
                style={tool === name ? pressed : button}
                aria-pressed={tool === name}
                data-testid={`neuronova-tool-${name}`}
                onClick={() => props.onTool(tool === name ? null : name)}
              >
                {t[name]}
              </button>
            ))}
          </div>
          {props.segments.length > 1 && (
            <label>
              {t.segment}{" "}
              <select style={field} data-testid="neuronova-edit-segment" onChange={(e) => props.onSegment(Number(e.target.value))}>
                {props.segments.map(({ index, label }) => <option key={index} value={index}>{label}</option>)}
              </select>
            </label>
          )}
        </div>
      )}
      {canReview && mode !== "idle" && (
        <div style={{ display: "grid", gap: "6px" }} data-testid="neuronova-sign-form" data-decision={decision}>
          {mode === "reject" && (
            <label>
              {t.reason}
              <input style={field} data-testid="neuronova-review-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
            </label>
          )}
          <label>
            {t.impression}
            <textarea style={field} rows={3} data-testid="neuronova-review-impression-input" value={impression} onChange={(e) => setImpression(e.target.value)} />
          </label>
          {formError && <div role="alert" style={{ color: "#ff9a9a" }}>{formError}</div>}
          <div style={{ display: "flex", gap: "6px" }}>
            <button type="button" style={button} data-testid="neuronova-review-sign" disabled={busy} onClick={() => void submit()}>
              {busy ? t.saving : mode === "edit" ? t.saveAndSign : t.sign}
            </button>
            <button type="button" style={button} data-testid="neuronova-review-cancel" disabled={busy} onClick={leave}>{t.cancel}</button>
          </div>
        </div>
      )}
    </div>
  );
}
