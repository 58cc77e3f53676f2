// The tumour-volume trend as plain SVG: a line for the total and one per label, a marker per study.
// Accessible: role="img" with a title and a text summary (first, last, nadir), every marker carries
// its value in a <title>, the series differ by dash pattern as well as colour (Okabe–Ito palette),
// and the table beside it holds every figure for screen readers and keyboard users.
import { useTranslation } from "react-i18next";
import { formatDate, formatVolume } from "../format";
import { chartGeometry, type TrendPoint } from "../trend";

const COLOURS = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4"];

export function TrendChart({ points, id }: { points: TrendPoint[]; id: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const chart = chartGeometry(points);
  const totals = points.filter((p) => p.total_ml !== null);
  const first = totals[0];
  const last = totals[totals.length - 1];
  const nadir = totals.reduce<TrendPoint | undefined>((low, p) => (!low || (p.total_ml ?? 0) < (low.total_ml ?? 0) ? p : low), undefined);
  const summary =
    first && last && nadir
      ? t("trend.summary", {
          count: totals.length,
          first: formatVolume(first.total_ml ?? 0, lang),
          firstDate: formatDate(first.study_date, lang),
          last: formatVolume(last.total_ml ?? 0, lang),
          lastDate: formatDate(last.study_date, lang),
          nadir: formatVolume(nadir.total_ml ?? 0, lang),
          nadirDate: formatDate(nadir.study_date, lang),
        })
      : t("trend.empty");
  const name = (series: string) => (series === "total" ? t("trend.total") : series);
  return (
    <figure className="trend-chart" data-testid="trend-chart">
      <svg
        viewBox={`0 0 ${chart.width} ${chart.height}`}
        role="img"
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-desc`}
        style={{ width: "100%", maxWidth: `${chart.width}px`, height: "auto" }}
      >
        <title id={`${id}-title`}>{t("trend.chartTitle")}</title>
        <desc id={`${id}-desc`}>{summary}</desc>
        <g aria-hidden="true" fontSize="11" fill="currentColor">
          {chart.yTicks.map((tick) => (
            <g key={tick.value}>
              <line x1={chart.plot.left} x2={chart.plot.right} y1={tick.y} y2={tick.y} stroke="#ccc" />
              <text x={chart.plot.left - 6} y={tick.y + 4} textAnchor="end">
                {tick.value}
              </text>
            </g>
          ))}
          <text x={chart.plot.left - 6} y={chart.plot.top - 14} textAnchor="end">mL</text>
          {(chart.series[0]?.points ?? []).map((p) => (
            <text key={p.point.study_uid} x={p.x} y={chart.height - 20} textAnchor="middle">
              {formatDate(p.point.study_date, lang)}
            </text>
          ))}
        </g>
        {chart.series.map((series, index) => (
          <g key={series.name} data-series={series.name}>
            <path
              d={series.path}
              fill="none"
              stroke={COLOURS[index % COLOURS.length]}
              strokeWidth={series.name === "total" ? 3 : 2}
              strokeDasharray={DASHES[index % DASHES.length] || undefined}
            />
            {series.points.map((p) => (
              <circle
                key={p.point.study_uid}
                cx={p.x}
                cy={p.y}
                r={series.name === "total" ? 5 : 3.5}
                fill={COLOURS[index % COLOURS.length]}
                data-value={p.value}
              >
                <title>{`${name(series.name)}, ${formatDate(p.point.study_date, lang)}: ${formatVolume(p.value, lang)} mL`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        <ul className="legend">
          {chart.series.map((series, index) => (
            <li key={series.name}>
              <svg width="28" height="10" aria-hidden="true">
                <line
                  x1="0" x2="28" y1="5" y2="5"
                  stroke={COLOURS[index % COLOURS.length]}
                  strokeWidth={series.name === "total" ? 3 : 2}
                  strokeDasharray={DASHES[index % DASHES.length] || undefined}
                />
              </svg>{" "}
              {name(series.name)}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
