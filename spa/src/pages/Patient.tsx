// A patient's tumour volumes over time: the trend chart and, for every figure, a table (date,
// review state, total and per-label volumes, change against the previous study and the nadir).
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { TrendChart } from "../components/TrendChart";
import { formatDate, formatVolume } from "../format";
import { labelsOf, type Change, type TrendPoint } from "../trend";
import { useLoad } from "../useLoad";

function ChangeCell({ value, lang }: { value: Change | null; lang: string }) {
  if (!value) return <td className="num">—</td>;
  const ml = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" }).format(value.ml);
  const pct = value.pct === null ? "" : ` (${new Intl.NumberFormat(lang, { maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(value.pct)} %)`;
  return (
    <td className="num nowrap" data-ml={value.ml} data-pct={value.pct ?? ""}>
      {ml} mL{pct}
    </td>
  );
}

function ReviewCell({ point }: { point: TrendPoint }) {
  const { t } = useTranslation();
  const state = point.review_state ?? "pending_review";
  const unsigned = point.signed === false || (point.signed === null && state === "pending_review");
  return (
    <td data-review-state={state}>
      {t(`review.states.${state}`, { defaultValue: state })}
      {unsigned && <strong className="unsigned"> · {t("review.unsigned")}</strong>}
    </td>
  );
}

export function Patient() {
  const { t, i18n } = useTranslation();
  const { patientId = "" } = useParams();
  const trend = useLoad(() => api.tumourVolumes(patientId), [patientId]);
  const lang = i18n.language;
  const points = trend.data ?? [];
  const labels = labelsOf(points);
  return (
    <section className="patient">
      <p>
        <Link to="/patients">← {t("nav.patients")}</Link>
      </p>
      <h1>
        {t("trend.title")} <small className="muted">{patientId}</small>
      </h1>
      {trend.error && <ErrorBox error={trend.error} />}
      {trend.loading && !trend.data && <p>{t("loading")}</p>}
      {trend.data && points.length === 0 && <p>{t("trend.empty")}</p>}
      {points.length > 0 && (
        <>
          <TrendChart points={points} id="tumour-trend" />
          <div className="table-wrap">
            <table data-testid="tumour-volumes">
              <caption>{t("trend.tableCaption")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("worklist.date")}</th>
                  <th scope="col">{t("review.state")}</th>
                  <th scope="col" className="num">{t("trend.total")} (mL)</th>
                  {labels.map((label) => (
                    <th scope="col" className="num" key={label}>{label} (mL)</th>
                  ))}
                  <th scope="col" className="num">{t("trend.vsPrevious")}</th>
                  <th scope="col" className="num">{t("trend.vsNadir")}</th>
                </tr>
              </thead>
              <tbody>
                {points.map((point) => (
                  <tr key={point.study_uid} data-study-uid={point.study_uid}>
                    <th scope="row">
                      <Link to={`/studies/${encodeURIComponent(point.study_uid)}`}>{formatDate(point.study_date, lang)}</Link>
                    </th>
                    <ReviewCell point={point} />
                    <td className="num" data-testid="trend-total">{point.total_ml === null ? "—" : formatVolume(point.total_ml, lang)}</td>
                    {labels.map((label) => (
                      <td className="num" key={label}>
                        {point.volumes_ml[label] === undefined ? "—" : formatVolume(point.volumes_ml[label], lang)}
                      </td>
                    ))}
                    <ChangeCell value={point.change_previous} lang={lang} />
                    <ChangeCell value={point.change_nadir} lang={lang} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
