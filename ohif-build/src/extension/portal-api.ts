// The viewer's calls to the Django portal API (same origin; HttpOnly cookie; X-CSRFToken on POST).

import type { Job, JobState, Review } from "../../../web-shared/portal";

export type { Job, JobState, Review, ReviewState } from "../../../web-shared/portal";

export interface ReportLabel {
  label: string;
  snomed_code?: string;
  color_rgb?: number[] | null;
  volume_ml: number;
}

export type ReviewDecision = "accepted" | "rejected" | "edited";

export interface Report {
  status: JobState | "none";
  model_id: string;
  model_version: string;
  seg_series_uid: string | null;
  labels: ReportLabel[];
  /** The AI SEG's volumes unless an edited SEG was signed; then the server recomputes them from it. */
  review?: Review | null;
}

export interface ReviewBody {
  decision: ReviewDecision;
  impression: string;
  reason?: string;
}


export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function csrfToken(): string | null {
  const match = /(?:^|;\s*)csrftoken=([^;]*)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]) : null;
}

export async function call<T>(path: string, method = "GET", body: unknown = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = csrfToken();
  if (method !== "GET" && token) headers["X-CSRFToken"] = token;
  if (method !== "GET") headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: method === "GET" ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new HttpError(response.status, `${method} ${path}: HTTP ${response.status}`);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

const enc = encodeURIComponent;

export const portal = {
  me: () => call<{ username: string; role: string }>("/api/auth/me"),
  study: (studyUid: string) => call<unknown>(`/api/studies/${enc(studyUid)}`),
  report: (studyUid: string) => call<Report>(`/api/studies/${enc(studyUid)}/report`),
  jobs: (studyUid: string) =>
    call<Job[] | { results: Job[] }>(`/api/studies/${enc(studyUid)}/jobs`).then((value) =>
      Array.isArray(value) ? value : (value?.results ?? []),
    ),
  reanalyze: (studyUid: string) => call<Job>(`/api/studies/${enc(studyUid)}/reanalyze`, "POST"),
  review: (studyUid: string, body: ReviewBody) => call<unknown>(`/api/studies/${enc(studyUid)}/review`, "POST", body),
  tumourVolumes: (patientId: string) => call<unknown>(`/api/patients/${enc(patientId)}/tumour-volumes`),
};

/** The CSRF header for a POST the viewer sends itself (STOW of an edited SEG). */
export function csrfHeaders(): Record<string, string> {
  const token = csrfToken();
  return token ? { "X-CSRFToken": token } : {};
}

export function studyUidsFromLocation(search: string = window.location.search): string[] {
  const params = new URLSearchParams(search);
  const raw = params.get("StudyInstanceUIDs") ?? params.get("studyInstanceUIDs") ?? "";
  return raw.split(",").map((uid) => uid.trim()).filter(Boolean);
}

export function loginUrl(pathAndQuery: string): string {
  return `/login?expired=1&next=${enc(pathAndQuery)}`;
}
