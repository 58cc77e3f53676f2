// The patient's tumour volumes over time (GET /api/patients/{id}/tumour-volumes), read the same
// way by the portal's trend page and the viewer's change-against-prior line. Pure: values in,
// values out. The server computes every change (against the previous study with a result and the
// nadir); the readers only lay them out.

export interface Change {
  ml: number;
  pct: number | null;
  /** The study the change is measured against (the server skips studies without a result). */
  base_study_uid?: string;
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
    if (ml === null) return null;
    const base = typeof nested.base_study_uid === "string" ? { base_study_uid: nested.base_study_uid } : {};
    return { ml, pct: num(nested.pct ?? nested.percent ?? nested.change_pct), ...base };
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
      const signed = row.signed ?? review?.signed;
      return {
        study_uid: String(row.study_uid ?? ""),
        study_date: String(row.study_date ?? ""),
        review_state: (row.review_state ?? review?.state ?? null) as string | null,
        signed: typeof signed === "boolean" ? signed : null,
        total_ml: total ?? (labels.length ? labels.reduce((a, b) => a + b, 0) : null),
        volumes_ml: perLabel,
        change_previous: change(row, "previous"),
        change_nadir: change(row, "nadir"),
      };
    })
    .sort((a, b) => a.study_date.localeCompare(b.study_date));
}

/** Every label seen in any study, in first-seen order. */
export function labelsOf(points: TrendPoint[]): string[] {
  const seen: string[] = [];
  for (const point of points) for (const label of Object.keys(point.volumes_ml)) if (!seen.includes(label)) seen.push(label);
  return seen;
}

/** This study's row and its prior: the study its change is measured against (the server skips
 *  studies without a result), else the one before it. */
export function priorOf(points: TrendPoint[], studyUid: string): { current: TrendPoint; prior: TrendPoint } | null {
  const index = points.findIndex((point) => point.study_uid === studyUid);
  if (index <= 0) return null;
  const current = points[index];
  const base = current.change_previous?.base_study_uid;
  const prior = (base && points.find((point) => point.study_uid === base)) || points[index - 1];
  return { current, prior };
}
