// Uploads DICOM files to POST /api/pacs/upload one file per request: each file gets its own
// result row, a failure never hides the others, and progress is exact (bytes sent / total).
// XMLHttpRequest rather than fetch because only XHR reports upload progress.
import { csrfHeaders, type UploadFileResult } from "./api";

export interface FileOutcome {
  name: string;
  ok: boolean;
  message: string;
}

export type Sender = (
  file: File,
  onProgress: (loaded: number) => void,
) => Promise<{ status: number; body: unknown }>;

export const xhrSender: Sender = (file, onProgress) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    form.append("files", file, file.webkitRelativePath || file.name);
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

function firstResult(body: unknown): UploadFileResult | null {
  if (Array.isArray(body)) return (body[0] as UploadFileResult) ?? null;
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    for (const key of ["results", "files"]) {
      const list = record[key];
      if (Array.isArray(list)) return (list[0] as UploadFileResult) ?? null;
    }
    return record as UploadFileResult;
  }
  return null;
}

/** Turns one upload response into a row for the results table. */
export function outcomeOf(name: string, status: number, body: unknown): FileOutcome {
  const result = firstResult(body);
  const detail = result?.error ?? result?.detail ?? (typeof body === "string" ? body : "");
  if (status === 401) return { name, ok: false, message: "unauthorized" };
  if (status < 200 || status >= 300) return { name, ok: false, message: detail || `HTTP ${status}` };
  const failed = result?.ok === false || (result?.status ?? "").toLowerCase().includes("fail");
  const message = result?.status ?? (failed ? "failed" : "stored");
  return { name, ok: !failed, message: failed ? detail || message : message };
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
  for (const file of files) {
    const name = file.webkitRelativePath || file.name;
    let outcome: FileOutcome;
    try {
      const { status, body } = await send(file, (loaded) =>
        onProgress(Math.min(1, (done + loaded) / total)),
      );
      outcome = outcomeOf(name, status, body);
    } catch (error) {
      outcome = { name, ok: false, message: (error as Error).message };
    }
    done += file.size;
    onProgress(Math.min(1, done / total));
    outcomes.push(outcome);
    onOutcome(outcome);
  }
  return outcomes;
}
