// The patient's tumour volumes over time (GET /api/patients/{id}/tumour-volumes) and the trend
// chart's geometry. Pure: values in, values out. The server computes every change (against the
// previous study and the nadir); the portal only lays them out. The viewer reads the same answer
// (ohif-build/src/extension/trend.ts): two builds, so the small reader exists twice.

export type ReviewState = "pending_review" | "accepted" | "rejected" | "edited";

export interface Change {
  ml: number;
  pct: number | null;
}

export interface TrendPoint {
  study_uid: string;
  study_date: string;
  review_state: string | null;
  signed: boolean | null;
  total_ml: number | null;
  volumes_ml: Record<string, number>;
  change_previous: Change | null;
  change_nadir: Change | null;
}

type Raw = Record<string, unknown>;

const num = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;

function change(row: Raw, name: "previous" | "nadir"): Change | null {
  const nested = (row[`change_vs_${name}`] ?? row[`change_from_${name}`] ?? row[`vs_${name}`]) as
    | Raw
    | null
    | undefined;
  if (nested && typeof nested === "object") {
    const ml = num(nested.ml ?? nested.delta_ml ?? nested.change_ml);
    return ml === null ? null : { ml, pct: num(nested.pct ?? nested.percent ?? nested.change_pct) };
  }
  const ml = num(row[`change_vs_${name}_ml`] ?? row[`${name}_change_ml`]);
  return ml === null ? null : { ml, pct: num(row[`change_vs_${name}_pct`] ?? row[`${name}_change_pct`]) };
}

function volumes(row: Raw): Record<string, number> {
  const out: Record<string, number> = {};
  const byLabel = row.volumes_ml;
  if (byLabel && typeof byLabel === "object" && !Array.isArray(byLabel)) {
    for (const [label, ml] of Object.entries(byLabel as Raw)) {
      const value = num(ml);
      if (value !== null) out[label] = value;
    }
  }
  for (const entry of Array.isArray(row.labels) ? (row.labels as Raw[]) : []) {
    const ml = num(entry.volume_ml);
    if (typeof entry.label === "string" && ml !== null) out[entry.label] = ml;
  }
  return out;
}

/** The API's rows in date order (`studies` or `results`), tolerant of absent fields. */
export function normaliseTrend(body: unknown): TrendPoint[] {
  const raw = body as Raw | Raw[] | null;
  const rows = Array.isArray(raw) ? raw : ((raw?.studies ?? raw?.results ?? []) as Raw[]);
  return rows
    .map((row): TrendPoint => {
      const perLabel = volumes(row);
      const review = row.review as Raw | null | undefined;
      const total = num(row.total_ml);
      const labels = Object.values(perLabel);
      return {
        study_uid: String(row.study_uid ?? ""),
        study_date: String(row.study_date ?? ""),
        review_state: (row.review_state ?? review?.state ?? null) as string | null,
        signed: typeof (row.signed ?? review?.signed) === "boolean" ? Boolean(row.signed ?? review?.signed) : null,
        total_ml: total ?? (labels.length ? labels.reduce((a, b) => a + b, 0) : null),
        volumes_ml: perLabel,
        change_previous: change(row, "previous"),
        change_nadir: change(row, "nadir"),
      };
    })
    .sort((a, b) => a.study_date.localeCompare(b.study_date));
}

/** Every label seen in any study, in first-seen order (the table's columns, the chart's series). */
export function labelsOf(points: TrendPoint[]): string[] {
  const seen: string[] = [];
  for (const point of points) for (const label of Object.keys(point.volumes_ml)) if (!seen.includes(label)) seen.push(label);
  return seen;
}

export interface ChartPoint {
  x: number;
  y: number;
  value: number;
  point: TrendPoint;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
  path: string;
}

export interface Chart {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  yTicks: { y: number; value: number }[];
  series: ChartSeries[];
}

/** A tick step of 1, 2 or 5 × 10^n giving about `count` ticks up to `max`. */
export function niceStep(max: number, count = 4): number {
  if (max <= 0) return 1;
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10;
  return step * magnitude;
}

/** Lines for the total and each label: x by visit order, y from 0 to a rounded maximum. */
export function chartGeometry(points: TrendPoint[], width = 640, height = 260): Chart {
  // Margins: tick values left, the unit above them, dates below, half a date's width right.
  const plot = { left: 56, top: 28, right: width - 48, bottom: height - 40 };
  const names = ["total", ...labelsOf(points)];
  const valueOf = (point: TrendPoint, name: string) =>
    name === "total" ? point.total_ml : (point.volumes_ml[name] ?? null);
  const max = Math.max(0, ...points.flatMap((point) => names.map((name) => valueOf(point, name) ?? 0)));
  const step = niceStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const x = (index: number) =>
    points.length <= 1 ? (plot.left + plot.right) / 2 : plot.left + ((plot.right - plot.left) * index) / (points.length - 1);
  const y = (value: number) => plot.bottom - ((plot.bottom - plot.top) * value) / top;
  const yTicks = [];
  for (let value = 0; value <= top + step / 2; value += step) yTicks.push({ y: y(value), value: Number(value.toPrecision(12)) });
  const series = names.map((name) => {
    const chartPoints = points.flatMap((point, index) => {
      const value = valueOf(point, name);
      return value === null ? [] : [{ x: x(index), y: y(value), value, point }];
    });
    const path = chartPoints.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    return { name, points: chartPoints, path };
  });
  return { width, height, plot, yTicks, series };
}
