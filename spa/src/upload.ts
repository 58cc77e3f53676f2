// Uploads DICOM files to POST /api/pacs/upload in small batches (a few files or MB per request):
// every file gets its own result row from the answer's `results` list, a failed request marks only
// its own files, and progress is exact (bytes sent / total). XMLHttpRequest rather than fetch
// because only XHR reports upload progress.
import { csrfHeaders, type UploadFileResult } from "./api";

export interface FileOutcome {
  name: string;
  ok: boolean;
  message: string;
}

export const BATCH_FILES = 16;
export const BATCH_BYTES = 16 * 1024 * 1024;

export type Sender = (
  files: File[],
  onProgress: (loaded: number) => void,
) => Promise<{ status: number; body: unknown }>;

export function displayName(file: File): string {
  return file.webkitRelativePath || file.name;
}

export const xhrSender: Sender = (files, onProgress) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    for (const file of files) form.append("files", file, displayName(file));
    xhr.open("POST", "/api/pacs/upload");
    xhr.withCredentials = true;
    for (const [key, value] of Object.entries(csrfHeaders("POST"))) xhr.setRequestHeader(key, value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = xhr.responseText;
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(form);
  });

/** Splits files into batches of at most BATCH_FILES files and (unless one file is larger) BATCH_BYTES. */
export function batches(files: File[], maxFiles = BATCH_FILES, maxBytes = BATCH_BYTES): File[][] {
  const out: File[][] = [];
  let current: File[] = [];
  let bytes = 0;
  for (const file of files) {
    if (current.length && (current.length >= maxFiles || bytes + file.size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.size;
  }
  if (current.length) out.push(current);
  return out;
}

const FAILED = new Set(["rejected", "failed", "error"]);

function resultList(body: unknown): UploadFileResult[] {
  if (Array.isArray(body)) return body as UploadFileResult[];
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    for (const key of ["results", "files"]) {
      if (Array.isArray(record[key])) return record[key] as UploadFileResult[];
    }
  }
  return [];
}

function detailOf(body: unknown): string {
  if (typeof body === "string") return body;
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string") return record.detail;
  }
  return "";
}

/** Turns one batch's answer into a result row per file (matched by position, then by name). */
export function outcomesOf(names: string[], status: number, body: unknown): FileOutcome[] {
  if (status < 200 || status >= 300) {
    const message = status === 401 ? "unauthorized" : detailOf(body) || `HTTP ${status}`;
    return names.map((name) => ({ name, ok: false, message }));
  }
  const results = resultList(body);
  return names.map((name, index) => {
    const result = results.find((r) => (r.name ?? r.filename) === name) ?? results[index];
    if (!result) return { name, ok: false, message: "no result from the server" };
    const state = (result.status ?? "").toLowerCase();
    const failed = result.ok === false || FAILED.has(state);
    const reason = result.reason ?? result.error ?? result.detail ?? "";
    const message = failed ? [state || "failed", reason].filter(Boolean).join(": ") : state || "stored";
    return { name, ok: !failed, message };
  });
}

export async function uploadAll(
  files: File[],
  onProgress: (fraction: number) => void,
  onOutcome: (outcome: FileOutcome) => void,
  send: Sender = xhrSender,
): Promise<FileOutcome[]> {
  const total = files.reduce((sum, file) => sum + file.size, 0) || 1;
  let done = 0;
  const outcomes: FileOutcome[] = [];
  for (const batch of batches(files)) {
    const names = batch.map(displayName);
    const size = batch.reduce((sum, file) => sum + file.size, 0);
    let rows: FileOutcome[];
    try {
      const { status, body } = await send(batch, (loaded) =>
        onProgress(Math.min(1, (done + Math.min(loaded, size)) / total)),
      );
      rows = outcomesOf(names, status, body);
    } catch (error) {
      rows = names.map((name) => ({ name, ok: false, message: (error as Error).message }));
    }
    done += size;
    onProgress(Math.min(1, done / total));
    for (const row of rows) {
      outcomes.push(row);
      onOutcome(row);
    }
  }
  return outcomes;
}
