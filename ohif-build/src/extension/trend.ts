// The viewer's side of the patient's tumour trend: the reader is shared with the portal
// (web-shared/trend.ts); here only the change's wording for the panel.
import type { Change } from "../../../web-shared/trend";

export { normaliseTrend, priorOf, type Change, type TrendPoint } from "../../../web-shared/trend";

/** "+1.25 mL (+12.5 %)": a signed change with the locale's number format. */
export function formatChange(value: Change, locale: string): string {
  const ml = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero",
  }).format(value.ml);
  if (value.pct === null) return `${ml} mL`;
  const pct = new Intl.NumberFormat(locale, { maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(value.pct);
  return `${ml} mL (${pct} %)`;
}
