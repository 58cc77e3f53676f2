// The NeuroNova AI panel: model, version, job status, per-label volumes with the SEG's colours,
// show/hide AI overlay and request re-analysis. Polls while a job is queued or running, so it
// updates when the job finishes. English or Korean, following the portal's language choice.
import React, { useCallback, useEffect, useState } from "react";
import {
  findSegDisplaySet, hideOverlay, isOverlayVisible, segmentColors, showOverlay, type Commands, type Services,
} from "./overlay";
import {
  currentLanguage, fill, formatVolume, LANG_STORAGE_KEY, LOCALES, messages, statusLabel, type Lang,
} from "./i18n";
import { HttpError, portal, studyUidsFromLocation, type Job, type Report, type ReportLabel } from "./portal-api";

export const POLL_MS = 4000;
const ACTIVE = new Set(["queued", "running"]);

const styles = {
  panel: { padding: "12px", color: "#e6ecf5", font: "13px system-ui, sans-serif", display: "grid", gap: "10px" },
  row: { display: "flex", justifyContent: "space-between", gap: "8px", alignItems: "center" },
  swatch: { display: "inline-block", width: "12px", height: "12px", borderRadius: "2px", marginRight: "6px" },
  button: {
    padding: "6px 10px", borderRadius: "4px", border: "1px solid #3a6fd8", background: "#1b2a4a",
    color: "#fff", cursor: "pointer", font: "inherit",
  },
  muted: { color: "#9aa6b8" },
  error: { color: "#ff9a9a" },
};

function swatch(color: number[] | null | undefined): string {
  return color && color.length >= 3 ? `rgb(${color.slice(0, 3).join(",")})` : "#888";
}

function latestJob(jobs: Job[]): Job | undefined {
  return [...jobs].sort((a, b) =>
    (b.event_at ?? b.created_at ?? "").localeCompare(a.event_at ?? a.created_at ?? ""),
  )[0];
}

/** The portal's language; follows a switch made in another tab of the portal (storage event). */
export function useLanguage(): Lang {
  const [lang, setLang] = useState<Lang>(currentLanguage);
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === null || event.key === LANG_STORAGE_KEY) setLang(currentLanguage());
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);
  return lang;
}

/** Per-label volumes with their colours (the report's, else the SEG's once shown). */
export function VolumeTable({ labels, colors, lang }: { labels: ReportLabel[]; colors: Record<string, number[]>; lang: Lang }) {
  const t = messages(lang);
  return (
    <table style={{ width: "100%", borderCollapse: "collapse" }}>
      <thead>
        <tr style={styles.muted}>
          <th style={{ textAlign: "left" }}>{t.label}</th>
          <th style={{ textAlign: "right" }}>{t.volume}</th>
        </tr>
      </thead>
      <tbody>
        {labels.map((label) => (
          <tr key={label.label} data-testid="neuronova-ai-label" data-label={label.label}>
            <td>
              <span style={{ ...styles.swatch, background: swatch(label.color_rgb ?? colors[label.label]) }} />
              {label.label}
            </td>
            <td style={{ textAlign: "right", fontVariantNumeric: "tabular-nums" }} data-testid="neuronova-ai-volume">
              {formatVolume(label.volume_ml, lang)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface Props {
  services: Services;
  commands: Commands;
}

export function AiPanel({ services, commands }: Props) {
  const studyUid = studyUidsFromLocation()[0] ?? "";
  const lang = useLanguage();
  const t = messages(lang);
  const [report, setReport] = useState<Report | null>(null);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [overlay, setOverlay] = useState<"hidden" | "loading" | "visible">("hidden");
  const [message, setMessage] = useState<string | null>(null);
  const [colors, setColors] = useState<Record<string, number[]>>({});

  const load = useCallback(async () => {
    try {
      const [nextReport, nextJobs] = await Promise.all([
        portal.report(studyUid).catch((err: unknown) => {
          if (err instanceof HttpError && err.status === 404) return null;
          throw err;
        }),
        portal.jobs(studyUid),
      ]);
      setReport(nextReport);
      setJobs(nextJobs);
      setError(null);
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) {
        (window as { __neuronovaToPortalLogin?: () => void }).__neuronovaToPortalLogin?.();
      }
      setError((err as Error).message);
    }
  }, [studyUid]);

  useEffect(() => {
    void load();
  }, [load]);

  const job = latestJob(jobs);
  const status = job?.state ?? report?.status ?? "none";
  const active = ACTIVE.has(status);
  useEffect(() => {
    if (!active) return undefined;
    const timer = window.setInterval(() => void load(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, load]);

  async function toggleOverlay() {
    const seg = findSegDisplaySet(services.displaySetService.getActiveDisplaySets(), report?.seg_series_uid ?? null);
    if (!seg) {
      setMessage(t.segNotLoaded);
      return;
    }
    setMessage(null);
    if (overlay === "visible" || isOverlayVisible(services, seg.displaySetInstanceUID)) {
      hideOverlay(services, seg);
      setOverlay("hidden");
      return;
    }
    setOverlay("loading");
    try {
      const shown = await showOverlay(services, commands, seg);
      setOverlay(shown ? "visible" : "hidden");
      // The report may carry no colours; then key the labels with the viewer's own.
      if (shown) setColors(segmentColors(services, seg.displaySetInstanceUID));
    } catch (err) {
      setOverlay("hidden");
      setMessage(fill(t.overlayFailed, { message: (err as Error).message }));
    }
  }

  async function reanalyze() {
    try {
      await portal.reanalyze(studyUid);
      setMessage(t.reanalyzeQueued);
      await load();
    } catch (err) {
      setMessage(fill(t.reanalyzeFailed, { message: (err as Error).message }));
    }
  }

  return (
    <div style={styles.panel} data-testid="neuronova-ai-panel" data-status={status} data-lang={lang} lang={LOCALES[lang]}>
      <div style={{ fontWeight: 600, fontSize: "14px" }}>{t.title}</div>
      {error && <div style={styles.error} role="alert">{error}</div>}
      <div style={styles.row}>
        <span style={styles.muted}>{t.model}</span>
        <span data-testid="neuronova-ai-model">
          {report?.model_id ?? job?.model_id ?? "—"} {report?.model_version ?? job?.model_version ?? ""}
        </span>
      </div>
      <div style={styles.row}>
        <span style={styles.muted}>{t.status}</span>
        <span data-testid="neuronova-ai-status">{statusLabel(lang, status)}{job?.reason ? ` (${job.reason})` : ""}</span>
      </div>
      {job?.state === "done" && job.qc_score != null && (
        <div style={styles.row} data-testid="neuronova-ai-quality" data-needs-review={job.needs_review ? "true" : "false"}>
          <span style={styles.muted}>{t.quality}</span>
          <span style={job.needs_review ? styles.error : undefined}>
            {job.needs_review ? t.needsReview : t.qcPassed} ({job.qc_score.toFixed(2)})
          </span>
        </div>
      )}
      {report && report.labels.length > 0 && <VolumeTable labels={report.labels} colors={colors} lang={lang} />}
      <button
        type="button"
        style={styles.button}
        data-testid="neuronova-ai-overlay"
        data-overlay={overlay}
        disabled={!report?.seg_series_uid || overlay === "loading"}
        onClick={() => void toggleOverlay()}
      >
        {overlay === "visible" ? t.hideOverlay : overlay === "loading" ? t.loadingOverlay : t.showOverlay}
      </button>
      <button
        type="button"
        style={styles.button}
        data-testid="neuronova-ai-reanalyze"
        disabled={active}
        onClick={() => void reanalyze()}
      >
        {t.reanalyze}
      </button>
      {message && <div style={styles.muted} data-testid="neuronova-ai-message">{message}</div>}
    </div>
  );
}
