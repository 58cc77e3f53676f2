// The only door to the backend: the Django API on the same origin (docs/ARCHITECTURE.md, "Portal
// HTTP API"). Auth is the HttpOnly session cookie set by POST /api/auth/login; unsafe methods carry
// the csrftoken cookie back as X-CSRFToken. A 401 anywhere raises UnauthorizedError so the app can
// send the user to the login page.
import { normaliseTrend } from "./trend";

import type { AiStatus, Job, Review } from "../../web-shared/portal";

export type { AiStatus, Job, Review, ReviewState } from "../../web-shared/portal";

export interface Me {
  username: string;
  role: "admin" | "radiologist" | "clinician" | string;
}

export interface StudyRow {
  study_uid: string;
  orthanc_study_id: string;
  patient_id: string;
  patient_name: string;
  study_date: string;
  study_description: string;
  modalities: string[] | string;
  ai_status: AiStatus | null;
  series_count: number;
  /** Review of the newest AI result (null without one) and whether a radiologist signed it. */
  review_state?: string | null;
  signed?: boolean;
}

export interface Page<T> {
  count: number;
  next?: string | null;
  previous?: string | null;
  results: T[];
}

export interface ReportLabel {
  label: string;
  snomed_code?: string;
  color_rgb?: [number, number, number] | number[];
  volume_ml: number;
}

export interface Report {
  status: AiStatus;
  /** The radiologist's review; absent from a portal without reviews (then: pending). */
  review?: Review | null;
  model_id: string;
  model_version: string;
  seg_series_uid: string | null;
  /** Quality control of the result (0..1); under the model's threshold it needs review. */
  qc_score?: number | null;
  needs_review?: boolean;
  labels: ReportLabel[];
}


export interface Series {
  series_uid?: string;
  series_instance_uid?: string;
  series_number?: number | string | null;
  series_description?: string;
  modality?: string;
  instance_count?: number;
  instances?: number;
}

export interface StudyDetail extends StudyRow {
  series: Series[];
  report?: Report | null;
  jobs?: Job[];
}

/** The portal answers `{study: {...}, series, report, jobs}`; a flat row is accepted too. */
export type StudyDetailResponse = Partial<StudyRow> & {
  study?: StudyRow;
  series?: Series[];
  report?: Report | null;
  jobs?: Job[];
};

export function normalizeDetail(body: StudyDetailResponse): StudyDetail {
  const { study, series, report, jobs, ...flat } = body;
  return { ...(flat as StudyRow), ...(study ?? {}), series: series ?? [], report: report ?? null, jobs: jobs ?? [] };
}

export interface Patient {
  patient_id: string;
  patient_name: string;
  birth_date?: string;
  sex?: string;
  study_count?: number;
}

export interface UploadFileResult {
  reason?: string;
  filename?: string;
  name?: string;
  status?: string;
  ok?: boolean;
  error?: string;
  detail?: string;
  sop_instance_uid?: string;
  study_uid?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export class UnauthorizedError extends ApiError {
  constructor() {
    super(401, "unauthorized");
    this.name = "UnauthorizedError";
  }
}

export function readCookie(name: string, cookieString: string = document.cookie): string | null {
  for (const part of cookieString.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function csrfHeaders(method: string): Record<string, string> {
  const token = readCookie("csrftoken");
  return UNSAFE.has(method.toUpperCase()) && token ? { "X-CSRFToken": token } : {};
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json();
    if (body && typeof body === "object") {
      const record = body as Record<string, unknown>;
      for (const key of ["detail", "error", "message"]) {
        if (typeof record[key] === "string") return record[key] as string;
      }
    }
  } catch {
    // not JSON: fall through to the status text
  }
  return response.statusText || `HTTP ${response.status}`;
}

let refreshing: Promise<boolean> | null = null;
const NO_REFRESH = new Set(["/api/auth/login", "/api/auth/refresh", "/api/auth/logout"]);

/** One shared POST /api/auth/refresh (the refresh cookie rotates); true when it worked. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= fetch("/api/auth/refresh", {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", ...csrfHeaders("POST") },
    body: "{}",
  })
    .then((response) => response.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export async function request<T>(path: string, init: RequestInit = {}, retried = false): Promise<T> {
  const method = (init.method ?? "GET").toUpperCase();
  const headers: Record<string, string> = {
    Accept: "application/json",
    ...csrfHeaders(method),
    ...((init.headers as Record<string, string> | undefined) ?? {}),
  };
  if (init.body && typeof init.body === "string") headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...init, method, headers, credentials: "same-origin" });
  if (response.status === 401) {
    // The access cookie is short-lived: rotate it once with the refresh cookie, then retry.
    if (!retried && !NO_REFRESH.has(path) && (await refreshSession())) {
      return request<T>(path, init, true);
    }
    throw new UnauthorizedError();
  }
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface WorklistQuery {
  search?: string;
  ai_status?: string;
  page?: number;
  modality?: string;
  date_from?: string;
  date_to?: string;
}

export function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "" && value !== null) params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

const enc = encodeURIComponent;

export const api = {
  me: () => request<Me>("/api/auth/me"),
  login: (username: string, password: string) =>
    request<Me>("/api/auth/login", { method: "POST", body: JSON.stringify({ username, password }) }),
  logout: () => request<void>("/api/auth/logout", { method: "POST" }),
  studies: (query: WorklistQuery) =>
    request<Page<StudyRow>>(`/api/studies${queryString({ ...query })}`),
  study: (studyUid: string) =>
    request<StudyDetailResponse>(`/api/studies/${enc(studyUid)}`).then(normalizeDetail),
  report: (studyUid: string) => request<Report>(`/api/studies/${enc(studyUid)}/report`),
  jobs: (studyUid: string) =>
    request<Job[] | Page<Job>>(`/api/studies/${enc(studyUid)}/jobs`).then(asList),
  reanalyze: (studyUid: string) =>
    request<Job>(`/api/studies/${enc(studyUid)}/reanalyze`, { method: "POST", body: "{}" }),
  tumourVolumes: (patientId: string) =>
    request<unknown>(`/api/patients/${enc(patientId)}/tumour-volumes`).then(normaliseTrend),
  patients: (search?: string, page?: number) =>
    request<Page<Patient> | Patient[]>(`/api/patients${queryString({ search, page })}`).then(
      asPage,
    ),
};

export function asList<T>(value: T[] | Page<T>): T[] {
  return Array.isArray(value) ? value : value.results;
}

export function asPage<T>(value: T[] | Page<T>): Page<T> {
  return Array.isArray(value) ? { count: value.length, results: value } : value;
}

export function viewerUrl(studyUid: string): string {
  return `/pacs-viewer/ai?StudyInstanceUIDs=${enc(studyUid)}`;
}

/** Only same-origin absolute paths may be a post-login destination (no open redirect). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) {
    return "/";
  }
  return next;
}
