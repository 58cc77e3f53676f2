import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { api, asList, viewerUrl, type Job, type Report } from "../api";
import { useApiCall, useAuth } from "../auth";
import { ErrorBox } from "../components/ErrorBox";
import { StatusBadge } from "../components/StatusBadge";
import { formatDate, formatName, formatVolume, modalitiesText, rgbCss } from "../format";
import { useLoad } from "../useLoad";

const ACTIVE = new Set(["queued", "running"]);
export const POLL_MS = 5000;

function ReviewView({ report }: { report: Report }) {
  const { t, i18n } = useTranslation();
  if (report.status !== "done") return null;
  const review = report.review ?? { state: "pending_review", signed: false };
  return (
    <div className="review" data-testid="review" data-state={review.state} data-signed={review.signed ? "true" : "false"}>
      <p>
        {t("review.state")}: <strong>{t(`review.states.${review.state}`, { defaultValue: review.state })}</strong>
        {!review.signed && (
          <strong className="unsigned" data-testid="review-unsigned">
            {" "}
            · {t("review.unsigned")}
          </strong>
        )}
      </p>
      {review.signed ? (
        <p className="muted" data-testid="review-signer">
          {t("review.signedBy", { reviewer: review.reviewer ?? "?", at: formatDate(review.reviewed_at ?? "", i18n.language) })}
        </p>
      ) : (
        <p className="muted">{t("review.unsignedNote")}</p>
      )}
      {review.impression && (
        <p data-testid="review-impression">
          {t("review.impression")}: {review.impression}
        </p>
      )}
      {review.reason && (
        <p>
          {t("review.reason")}: {review.reason}
        </p>
      )}
    </div>
  );
}

function ReportView({ report }: { report: Report }) {
  const { t, i18n } = useTranslation();
  return (
    <div className="report" data-testid="ai-report">
      <ReviewView report={report} />
      <p>
        {t("study.model")}: <strong>{report.model_id}</strong> {report.model_version}{" "}
        <StatusBadge status={report.status} />
      </p>
      {report.seg_series_uid && (
        <p className="muted">
          {t("study.seg")}: <code>{report.seg_series_uid}</code>
        </p>
      )}
      {report.qc_score != null && (
        <p className={report.needs_review ? "error" : "muted"} data-testid="ai-quality">
          {t("study.quality", { score: report.qc_score.toFixed(2) })}
          {report.needs_review ? `: ${t("study.needsReview")}` : ""}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>{t("study.label")}</th>
            <th className="num">{t("study.volume")}</th>
          </tr>
        </thead>
        <tbody>
          {report.labels.map((label) => (
            <tr key={label.label} data-label={label.label}>
              <td>
                <span className="swatch" style={{ background: rgbCss(label.color_rgb) }} />
                {label.label}
              </td>
              <td className="num">{formatVolume(label.volume_ml, i18n.language)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JobTable({ jobs }: { jobs: Job[] }) {
  const { t, i18n } = useTranslation();
  if (jobs.length === 0) return <p>{t("study.noJobs")}</p>;
  return (
    <table data-testid="jobs">
      <thead>
        <tr>
          <th>{t("study.when")}</th>
          <th>{t("study.model")}</th>
          <th>{t("study.state")}</th>
          <th>{t("study.reason")}</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.job_id} data-job-state={job.state}>
            <td>{formatDate(job.event_at ?? job.updated_at ?? job.created_at ?? job.at, i18n.language)}</td>
            <td>
              {job.model_id} {job.model_version}
            </td>
            <td>
              <StatusBadge status={job.state} />
            </td>
            <td>{job.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Study() {
  const { t, i18n } = useTranslation();
  const { studyUid = "" } = useParams();
  const call = useApiCall();
  const { me } = useAuth();
  // Re-analysis is ordered by radiologists and admins; the API refuses anyone else.
  const mayReanalyze = me?.role === "radiologist" || me?.role === "admin";
  const study = useLoad(() => api.study(studyUid), [studyUid]);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);

  const jobs = study.data?.jobs ?? [];
  const report = study.data?.report ?? null;
  const status = study.data?.ai_status ?? report?.status ?? null;
  const active = ACTIVE.has(status ?? "") || jobs.some((job) => ACTIVE.has(job.state));

  // While a job is queued or running, refresh so the report appears when it finishes.
  useEffect(() => {
    if (!active) return undefined;
    const timer = window.setInterval(study.reload, POLL_MS);
    return () => window.clearInterval(timer);
  }, [active, study.reload]);

  async function reanalyze() {
    setActionError(null);
    try {
      await call(() => api.reanalyze(studyUid));
      setNotice(t("study.reanalyzeQueued"));
      study.reload();
    } catch (error) {
      setActionError(error as Error);
    }
  }

  if (study.error && !study.data) {
    return (
      <section>
        <p role="alert" className="error">
          {t("study.notFound")}
        </p>
        <ErrorBox error={study.error} />
      </section>
    );
  }
  if (!study.data) return <p>{t("loading")}</p>;
  const data = study.data;
  const lang = i18n.language;
  return (
    <section className="study">
      <p>
        <Link to="/">← {t("nav.worklist")}</Link>
      </p>
      <h1>
        {formatName(data.patient_name, lang) || data.patient_id}{" "}
        <small className="muted">{data.patient_id}</small>
      </h1>
      <p>
        {formatDate(data.study_date, lang)} · {data.study_description} ·{" "}
        {modalitiesText(data.modalities)} <StatusBadge status={status} />
      </p>
      <div className="actions">
        <a className="button primary" href={viewerUrl(data.study_uid)} data-testid="open-viewer">
          {t("study.openViewer")}
        </a>
        <Link className="button" to={`/patients/${encodeURIComponent(data.patient_id)}`} data-testid="patient-trend">
          {t("trend.open")}
        </Link>
        {mayReanalyze && (
          <button type="button" onClick={() => void reanalyze()} disabled={active}>
            {t("study.reanalyze")}
          </button>
        )}
      </div>
      {notice && <p className="notice">{notice}</p>}
      {actionError && <ErrorBox error={actionError} />}
      <div className="columns">
        <div>
          <h2>{t("study.report")}</h2>
          {report && report.labels.length > 0 ? <ReportView report={report} /> : <p>{t("study.noReport")}</p>}
          <h2>{t("study.jobs")}</h2>
          <JobTable jobs={asList(jobs)} />
        </div>
        <div>
          <h2>{t("study.series")}</h2>
          <table>
            <thead>
              <tr>
                <th>{t("study.number")}</th>
                <th>{t("study.modality")}</th>
                <th>{t("study.description")}</th>
                <th className="num">{t("study.instances")}</th>
              </tr>
            </thead>
            <tbody>
              {data.series.map((series, index) => (
                <tr key={series.series_uid ?? series.series_instance_uid ?? index}>
                  <td>{series.series_number ?? ""}</td>
                  <td>{series.modality}</td>
                  <td>{series.series_description}</td>
                  <td className="num">{series.instance_count ?? series.instances ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
