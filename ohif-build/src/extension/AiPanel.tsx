// The NeuroNova AI panel: model, version, job status, per-label volumes with the SEG's colours,
// show/hide AI overlay (on every viewport: current and prior side by side), the review (state for
// everyone; Accept / Reject / Edit and signing for radiologists), the change against the prior
// study, and re-analysis for the roles the portal lets re-analyse. Polls while a job is queued or
// running, so it updates when the job finishes. English or Korean, following the portal's choice.
import React, { useCallback, useEffect, useState } from "react";
import {
  findSegDisplaySet, hideOverlay, isOverlayVisible, segForSeries, segmentColors, segmentLabels, showOverlay, viewportsOf,
  type Commands, type DisplaySet, type Services,
} from "./overlay";
import { fill, LOCALES, messages, statusLabel } from "./i18n";
import {
  HttpError, portal, studyUidsFromLocation, type Job, type Report, type ReviewDecision,
} from "./portal-api";
import { activateTool, storeEditedSeg, type EditServices, type EditTool, type StoreDeps } from "./edit";
import { panelActions, type Role } from "./review";
import { ReviewSection } from "./ReviewSection";
import { PriorChange } from "./PriorChange";
import { normaliseTrend, type TrendPoint } from "./trend";
import { useLanguage, VolumeTable } from "./VolumeTable";

export { useLanguage, VolumeTable };

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

function latestJob(jobs: Job[]): Job | undefined {
  return [...jobs].sort((a, b) =>
    (b.event_at ?? b.created_at ?? "").localeCompare(a.event_at ?? a.created_at ?? ""),
  )[0];
}

export interface ExtensionManagerLike {
  getDataSources: StoreDeps["getDataSources"];
}

interface Props {
  services: Services;
  commands: Commands;
  extensionManager?: ExtensionManagerLike;
  /** Tests render a role without a portal to ask. */
  initialRole?: Role | null;
  initialReport?: Report | null;
}

const DATA_SOURCE = "neuronova";

function patientIdOf(study: unknown): string | null {
  const body = study as { study?: { patient_id?: string }; patient_id?: string } | null;
  return body?.study?.patient_id ?? body?.patient_id ?? null;
}

export function AiPanel({ services, commands, extensionManager, initialRole = null, initialReport = null }: Props) {
  const studyUid = studyUidsFromLocation()[0] ?? "";
  const lang = useLanguage();
  const t = messages(lang);
  const [report, setReport] = useState<Report | null>(initialReport);
  const [me, setMe] = useState<{ username: string; role: Role } | null>(
    initialRole ? { username: "", role: initialRole } : null,
  );
  const [trend, setTrend] = useState<TrendPoint[]>([]);
  const [tool, setTool] = useState<EditTool | null>(null);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState<DisplaySet | null>(null);
  const [segments, setSegments] = useState<{ index: number; label: string }[]>([]);
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

  // Who is reading (the buttons follow the role) and the patient's volumes over time.
  useEffect(() => {
    portal.me().then((who) => setMe(who), () => setMe(null));
    portal.study(studyUid)
      .then((study) => {
        const patientId = patientIdOf(study);
        return patientId ? portal.tumourVolumes(patientId) : null;
      })
      .then((body) => setTrend(body ? normaliseTrend(body) : []))
      .catch(() => setTrend([])); // no follow-up data is not an error of this study
  }, [studyUid, report?.review?.state, report?.review?.reviewed_at]);

  const job = latestJob(jobs);
  const status = job?.state ?? report?.status ?? "none";
  const active = ACTIVE.has(status);
  useEffect(() => {
    if (!active) return undefined;
    const timer = window.setInterval(() => void load(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, load]);

  const reportSeg = () =>
    findSegDisplaySet(
      services.displaySetService.getActiveDisplaySets(),
      report?.review?.edited_seg_series_uid ?? report?.seg_series_uid ?? null,
    ) ?? findSegDisplaySet(services.displaySetService.getActiveDisplaySets(), report?.seg_series_uid ?? null);

  /** The report's SEG on the active viewport; in a side-by-side layout each other viewport gets
   *  the newest SEG drawn on the series it shows (the prior study's own result). */
  function overlayTargets(seg: DisplaySet): { viewportId: string; seg: DisplaySet }[] {
    const activeId = services.viewportGridService.getActiveViewportId();
    const all = services.displaySetService.getActiveDisplaySets();
    const others = viewportsOf(services)
      .filter((viewport) => viewport.viewportId !== activeId)
      .map((viewport) => ({ viewportId: viewport.viewportId, seg: viewport.displaySetUIDs.map((uid) => segForSeries(all, uid)).find(Boolean) }))
      .filter((target): target is { viewportId: string; seg: DisplaySet } => !!target.seg && target.seg !== seg);
    return [{ viewportId: activeId, seg }, ...others];
  }

  /** Shows the report's SEG (and the other viewports' own); false when it could not. */
  async function showAll(seg: DisplaySet): Promise<boolean> {
    setOverlay("loading");
    try {
      const shown = await showOverlay(services, commands, seg);
      for (const target of overlayTargets(seg).slice(1)) await showOverlay(services, commands, target.seg, target.viewportId);
      setOverlay(shown ? "visible" : "hidden");
      // The report may carry no colours; then key the labels with the viewer's own.
      if (shown) setColors(segmentColors(services, seg.displaySetInstanceUID));
      return shown;
    } catch (err) {
      setOverlay("hidden");
      setMessage(fill(t.overlayFailed, { message: (err as Error).message }));
      return false;
    }
  }

  /** The report's SEGs on screen or to hide: the signed edit's and the AI's. Right after an edit is
   *  saved, the edit's own series has a display set (edit.ts adds it) while the labelmap on screen
   *  is still the AI SEG's, edited: hiding must hide that one too. */
  function shownSegs(seg: DisplaySet): DisplaySet[] {
    const ai = findSegDisplaySet(services.displaySetService.getActiveDisplaySets(), report?.seg_series_uid ?? null);
    return ai && ai !== seg ? [seg, ai] : [seg];
  }

  async function toggleOverlay() {
    const seg = reportSeg();
    if (!seg) {
      setMessage(t.segNotLoaded);
      return;
    }
    setMessage(null);
    const segs = shownSegs(seg);
    if (overlay === "visible" || segs.some((shown) => isOverlayVisible(services, shown.displaySetInstanceUID))) {
      for (const shown of segs) {
        for (const target of overlayTargets(shown)) hideOverlay(services, target.seg, target.viewportId);
      }
      setOverlay("hidden");
      return;
    }
    await showAll(seg);
  }

  const editServices = services as EditServices;

  async function startEdit(): Promise<boolean> {
    const seg = reportSeg();
    if (!seg) {
      setMessage(t.segNotLoaded);
      return false;
    }
    // Editing paints the labelmap on screen: show it first (never toggled off here).
    if (!isOverlayVisible(services, seg.displaySetInstanceUID) && !(await showAll(seg))) return false;
    const viewportId = services.viewportGridService.getActiveViewportId();
    services.segmentationService.setActiveSegmentation?.(viewportId, seg.displaySetInstanceUID);
    services.segmentationService.setActiveSegment?.(seg.displaySetInstanceUID, 1);
    setEditing(seg);
    setSegments(segmentLabels(services, seg.displaySetInstanceUID));
    chooseTool("brush");
    return true;
  }

  function chooseTool(next: EditTool | null) {
    activateTool(editServices, next);
    setTool(next);
  }

  function endEdit() {
    chooseTool(null);
    setEditing(null);
  }

  async function sign(decision: ReviewDecision, impression: string, reason: string): Promise<boolean> {
    setBusy(true);
    setMessage(null);
    try {
      let editedSeries: string | undefined;
      if (decision === "edited") {
        if (!editing || !extensionManager) throw new Error(t.segNotLoaded);
        try {
          editedSeries = await storeEditedSeg(
            { services: editServices, runCommand: commands.runCommand.bind(commands), getDataSources: extensionManager.getDataSources.bind(extensionManager), dataSourceName: DATA_SOURCE },
            editing,
            me?.username ?? "",
          );
        } catch (err) {
          setMessage(fill(t.saveFailed, { message: (err as Error).message }));
          return false;
        }
      }
      await portal.review(studyUid, {
        decision, impression, ...(reason ? { reason } : {}), ...(editedSeries ? { seg_series_uid: editedSeries } : {}),
      });
      setMessage(t.signed);
      await load();
      return true;
    } catch (err) {
      setMessage(fill(t.signFailed, { message: (err as Error).message }));
      return false;
    } finally {
      setBusy(false);
    }
  }

  const actions = panelActions(me?.role ?? null, status, report);

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
    <div
      style={styles.panel}
      data-testid="neuronova-ai-panel"
      data-status={status}
      data-role={me?.role ?? ""}
      data-lang={lang}
      lang={LOCALES[lang]}
    >
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
      <ReviewSection
        lang={lang}
        report={report}
        canReview={actions.review}
        busy={busy}
        tool={tool}
        segments={segments}
        onEditStart={startEdit}
        onEditEnd={endEdit}
        onTool={chooseTool}
        onSegment={(index) => editing && services.segmentationService.setActiveSegment?.(editing.displaySetInstanceUID, index)}
        onSign={sign}
      />
      <PriorChange lang={lang} points={trend} studyUid={studyUid} />
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
      {actions.reanalyze && (
        <button
          type="button"
          style={styles.button}
          data-testid="neuronova-ai-reanalyze"
          disabled={active}
          onClick={() => void reanalyze()}
        >
          {t.reanalyze}
        </button>
      )}
      {message && <div style={styles.muted} data-testid="neuronova-ai-message">{message}</div>}
    </div>
  );
}
