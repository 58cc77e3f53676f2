// The portal's side of the patient's tumour trend: the reader is shared with the viewer
// (web-shared/trend.ts); here the trend chart's geometry. Pure: values in, values out.
import { labelsOf, type TrendPoint } from "../../web-shared/trend";

export { labelsOf, normaliseTrend, type Change, type TrendPoint } from "../../web-shared/trend";

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
