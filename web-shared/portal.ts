// What the portal API says about AI jobs and their review, shared by the portal (spa/) and the
// viewer's extension (ohif-build/), each bundling this file with its own sources. The job states
// are the contract's (contracts/neuronova_contracts/jobs.py, JobState); "none": no job yet.

export type JobState = "queued" | "running" | "done" | "failed" | "skipped";
export type AiStatus = JobState | "none";

export type ReviewState = "pending_review" | "accepted" | "rejected" | "edited";

/** The radiologist's review of an AI result (absent on a portal that has none yet). */
export interface Review {
  state: ReviewState;
  signed: boolean;
  reviewer?: string | null;
  reviewed_at?: string | null;
  impression?: string | null;
  reason?: string | null;
  edited_seg_series_uid?: string | null;
}

/** One AI job of a study, as `GET /api/studies/{uid}/jobs` and the re-analysis answer give it. */
export interface Job {
  job_id: string;
  state: JobState;
  reason?: string | null;
  model_id?: string;
  model_version?: string;
  created_at?: string;
  updated_at?: string;
  event_at?: string;
  at?: string;
  seg_series_uid?: string | null;
  volumes_ml?: Record<string, number>;
  /** Quality control of a done result (0..1) and whether it is under the model's threshold. */
  qc_score?: number | null;
  needs_review?: boolean;
}

/** The AI status as both apps show it, in the languages they offer. */
export const AI_STATUS_LABELS: Record<"en" | "ko", Record<AiStatus, string>> = {
  en: {
    queued: "Queued",
    running: "Running",
    done: "Done",
    failed: "Failed",
    skipped: "Skipped",
    none: "No AI",
  },
  ko: {
    queued: "대기",
    running: "분석 중",
    done: "완료",
    failed: "실패",
    skipped: "제외",
    none: "AI 없음",
  },
};
