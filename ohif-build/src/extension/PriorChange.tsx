// The change of the tumour's total volume against the patient's prior study and against the nadir
// (the server's figures), with a link that opens the prior beside this study.
import React from "react";
import { fill, formatVolume, LOCALES, messages, type Lang } from "./i18n";
import { compareUrl } from "./compare";
import { formatChange, priorOf, type TrendPoint } from "./trend";

const row = { display: "flex", justifyContent: "space-between", gap: "8px" };

export function PriorChange({ lang, points, studyUid }: { lang: Lang; points: TrendPoint[]; studyUid: string }) {
  const t = messages(lang);
  if (!points.some((point) => point.study_uid === studyUid)) return null;
  const pair = priorOf(points, studyUid);
  if (!pair) {
    return <div style={{ color: "#9aa6b8" }} data-testid="neuronova-prior-change" data-has-prior="false">{t.noPrior}</div>;
  }
  const { current, prior } = pair;
  const locale = LOCALES[lang];
  const href = compareUrl(typeof window !== "undefined" ? window.location.pathname : "/pacs-viewer/ai", studyUid, prior.study_uid);
  return (
    <div style={{ display: "grid", gap: "4px", borderTop: "1px solid #2b3a55", paddingTop: "8px" }} data-testid="neuronova-prior-change" data-has-prior="true" data-prior-study={prior.study_uid}>
      <div style={row}>
        <span style={{ color: "#9aa6b8" }}>{fill(t.priorChange, { date: prior.study_date })}</span>
        <span data-testid="neuronova-prior-delta" data-ml={current.change_previous?.ml ?? ""}>
          {current.change_previous ? formatChange(current.change_previous, locale) : "—"}
        </span>
      </div>
      {current.change_nadir && (
        <div style={row}>
          <span style={{ color: "#9aa6b8" }}>{t.nadirChange}</span>
          <span data-testid="neuronova-nadir-delta">{formatChange(current.change_nadir, locale)}</span>
        </div>
      )}
      {current.total_ml !== null && (
        <div style={row}>
          <span style={{ color: "#9aa6b8" }}>{t.total}</span>
          <span>{formatVolume(current.total_ml, lang)} mL ← {prior.total_ml !== null ? formatVolume(prior.total_ml, lang) : "—"} mL</span>
        </div>
      )}
      <a href={href} style={{ color: "#7fb2ff" }} data-testid="neuronova-compare-prior">{t.comparePrior}</a>
    </div>
  );
}
