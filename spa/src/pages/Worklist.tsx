import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { StatusBadge } from "../components/StatusBadge";
import { formatDate, formatName, modalitiesText } from "../format";
import { useLoad } from "../useLoad";

export const PAGE_SIZE = 25;
const STATUSES = ["queued", "running", "done", "failed", "skipped"];

export function Worklist() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const search = params.get("search") ?? "";
  const aiStatus = params.get("ai_status") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const [draft, setDraft] = useState(search);

  const { data, error, loading } = useLoad(
    () => api.studies({ search, ai_status: aiStatus, page }),
    [search, aiStatus, page],
  );

  function update(next: Record<string, string>) {
    const merged = new URLSearchParams(params);
    for (const [key, value] of Object.entries(next)) {
      if (value) merged.set(key, value);
      else merged.delete(key);
    }
    setParams(merged);
  }

  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  const lang = i18n.language;
  return (
    <section>
      <h1>{t("worklist.title")}</h1>
      <form
        className="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          update({ search: draft.trim(), page: "" });
        }}
      >
        <input
          type="search"
          aria-label={t("worklist.search")}
          placeholder={t("worklist.search")}
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
        />
        <select
          aria-label={t("worklist.aiStatus")}
          value={aiStatus}
          onChange={(event) => update({ ai_status: event.target.value, page: "" })}
        >
          <option value="">
            {t("worklist.aiStatus")}: {t("worklist.any")}
          </option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {t(`status.${status}`)}
            </option>
          ))}
        </select>
      </form>
      {error && <ErrorBox error={error} />}
      {loading && !data && <p>{t("loading")}</p>}
      {data && (
        <>
          <p className="muted">{t("worklist.count", { count: data.count })}</p>
          {data.results.length === 0 ? (
            <p>{t("worklist.empty")}</p>
          ) : (
            <div className="table-wrap">
              <table className="worklist">
                <thead>
                  <tr>
                    <th>{t("worklist.patient")}</th>
                    <th>{t("worklist.patientId")}</th>
                    <th>{t("worklist.date")}</th>
                    <th>{t("worklist.description")}</th>
                    <th>{t("worklist.modalities")}</th>
                    <th>{t("worklist.series")}</th>
                    <th>{t("worklist.aiStatus")}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.results.map((row) => (
                    <tr key={row.study_uid} data-study-uid={row.study_uid}>
                      <td>
                        <Link to={`/studies/${encodeURIComponent(row.study_uid)}`}>
                          {formatName(row.patient_name, lang) || row.patient_id}
                        </Link>
                      </td>
                      <td>{row.patient_id}</td>
                      <td>{formatDate(row.study_date, lang)}</td>
                      <td>{row.study_description}</td>
                      <td>{modalitiesText(row.modalities)}</td>
                      <td>{row.series_count}</td>
                      <td>
                        <StatusBadge status={row.ai_status} />
                        {row.ai_status === "done" && row.review_state && (
                          <span className={row.signed ? "muted" : "unsigned"} data-testid="worklist-review" data-signed={row.signed ? "true" : "false"}>
                            {" "}
                            {row.signed ? t(`review.states.${row.review_state}`, { defaultValue: row.review_state }) : t("review.unsigned")}
                          </span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav className="pager" aria-label="pagination">
            <button
              type="button"
              disabled={page <= 1}
              onClick={() => update({ page: String(page - 1) })}
            >
              {t("worklist.previous")}
            </button>
            <span>{t("worklist.page", { page, pages })}</span>
            <button
              type="button"
              disabled={page >= pages}
              onClick={() => update({ page: String(page + 1) })}
            >
              {t("worklist.next")}
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
