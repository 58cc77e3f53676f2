// What the AI panel offers for a result's review, by role and state (values in, values out).
// The portal enforces every rule (radiologists alone review and store SEGs; radiologists and
// admins re-analyse); the panel only shows a user the actions the server would accept.
import type { JobState, Report, Review, ReviewDecision, ReviewState } from "./portal-api";

export type Role = "admin" | "radiologist" | "clinician" | string;

export interface PanelActions {
  /** Accept / Reject / Edit and the sign form. */
  review: boolean;
  /** "Request re-analysis". */
  reanalyze: boolean;
}

export function panelActions(role: Role | null, status: JobState | "none", report: Report | null): PanelActions {
  const result = status === "done" && !!report?.seg_series_uid;
  return {
    review: role === "radiologist" && result,
    reanalyze: role === "radiologist" || role === "admin",
  };
}

/** A done result with no review recorded is pending review (a portal without reviews says nothing). */
export function reviewOf(report: Report | null): Review | null {
  if (!report || report.status !== "done") return null;
  return report.review ?? { state: "pending_review", signed: false };
}

export function isUnsigned(review: Review | null): boolean {
  return !!review && !review.signed;
}

export type FormError = "impressionRequired" | "reasonRequired" | null;

/** The sign form's check before it POSTs: an impression always, a reason to reject. */
export function checkDecision(decision: ReviewDecision, impression: string, reason: string): FormError {
  if (!impression.trim()) return "impressionRequired";
  if (decision === "rejected" && !reason.trim()) return "reasonRequired";
  return null;
}

export const REVIEW_STATES: readonly ReviewState[] = ["pending_review", "accepted", "rejected", "edited"];
