import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import i18n, { en, ko } from "../i18n";
import { chartGeometry, labelsOf, niceStep, normaliseTrend } from "../trend";
import { mockFetch, renderAt, Route } from "./helpers";

// Three visits of one patient, as GET /api/patients/{id}/tumour-volumes answers (server's changes).
const VOLUMES = {
  patient_id: "P002",
  studies: [
    {
      study_uid: "1.1", study_date: "20260101", review_state: "accepted", signed: true,
      volumes_ml: { Enhancing: 10, Oedema: 30 }, total_ml: 40,
      change_vs_previous: null, change_vs_nadir: null,
    },
    {
      study_uid: "1.2", study_date: "20260402", review_state: "edited", signed: true,
      volumes_ml: { Enhancing: 13, Oedema: 39 }, total_ml: 52,
      change_vs_previous: { ml: 12, pct: 30 }, change_vs_nadir: { ml: 12, pct: 30 },
    },
    {
      study_uid: "1.3", study_date: "20260702", review_state: "pending_review", signed: false,
      volumes_ml: { Enhancing: 7, Oedema: 21 }, total_ml: 28,
      change_vs_previous: { ml: -24, pct: -46.2 }, change_vs_nadir: { ml: -12, pct: -30 },
    },
  ],
};

function backend(body: unknown = VOLUMES) {
  return mockFetch((url, init) => {
    const key = `${(init.method ?? "GET").toUpperCase()} ${url}`;
    if (key === "GET /api/auth/me") return { status: 200, body: { username: "clinician", role: "clinician" } };
    if (key === "GET /api/patients/P002/tumour-volumes") return { status: 200, body };
    return { status: 404, body: { detail: "not found" } };
  });
}

beforeEach(async () => {
  await act(() => i18n.changeLanguage("en"));
});
afterEach(() => vi.unstubAllGlobals());

describe("tumour trend data", () => {
  it("orders the studies by date and keeps the server's changes", () => {
    const points = normaliseTrend({ studies: [...VOLUMES.studies].reverse() });
    expect(points.map((p) => p.study_uid)).toEqual(["1.1", "1.2", "1.3"]);
    expect(points[2].change_previous).toEqual({ ml: -24, pct: -46.2 });
    expect(points[2].change_nadir).toEqual({ ml: -12, pct: -30 });
    expect(points[2].signed).toBe(false);
    expect(labelsOf(points)).toEqual(["Enhancing", "Oedema"]);
  });

  it("totals the labels when the server sends none, and reads label lists", () => {
    const [point] = normaliseTrend([{ study_uid: "x", study_date: "20260101", labels: [{ label: "A", volume_ml: 1.5 }, { label: "B", volume_ml: 2 }] }]);
    expect(point.total_ml).toBe(3.5);
    expect(point.volumes_ml).toEqual({ A: 1.5, B: 2 });
    expect(normaliseTrend({})).toEqual([]);
  });

  it("lays out one line per label plus the total, scaled from zero to a round maximum", () => {
    const chart = chartGeometry(normaliseTrend(VOLUMES), 640, 260);
    expect(chart.series.map((s) => s.name)).toEqual(["total", "Enhancing", "Oedema"]);
    const total = chart.series[0];
    expect(total.points.map((p) => p.value)).toEqual([40, 52, 28]);
    // x follows visit order across the plot; y grows upwards (SVG y downwards).
    expect(total.points[0].x).toBe(chart.plot.left);
    expect(total.points[2].x).toBe(chart.plot.right);
    expect(total.points[1].y).toBeLessThan(total.points[0].y);
    expect(total.points[2].y).toBeGreaterThan(total.points[0].y);
    expect(chart.yTicks[0]).toEqual({ y: chart.plot.bottom, value: 0 });
    expect(chart.yTicks[chart.yTicks.length - 1].value).toBe(60);
    expect(total.path.startsWith("M")).toBe(true);
    expect(niceStep(52)).toBe(20);
    expect(niceStep(0.8)).toBe(0.2);
  });
});

describe("patient page", () => {
  it("shows the table and an accessible chart of the three visits", async () => {
    backend();
    renderAt("/patients/P002", <Route path="/*" element={<App />} />);
    const table = await screen.findByTestId("tumour-volumes");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.getAttribute("data-study-uid"))).toEqual(["1.1", "1.2", "1.3"]);
    expect(within(rows[1]).getAllByText("+12.00 mL (+30 %)")).toHaveLength(2); // vs previous and vs nadir
    expect(within(rows[2]).getByText("-24.00 mL (-46.2 %)")).toBeInTheDocument();
    expect(within(rows[2]).getByText("-12.00 mL (-30 %)")).toBeInTheDocument();
    expect(within(rows[2]).getByText(/Unsigned/)).toBeInTheDocument();
    expect(within(rows[0]).queryByText(/Unsigned/)).not.toBeInTheDocument();
    const chart = screen.getByRole("img", { name: /Total tumour volume/ });
    expect(chart).toHaveAccessibleDescription(/3 studies: 40.00 mL on .*; smallest 28.00 mL/);
    expect(chart.querySelectorAll("[data-series='total'] circle")).toHaveLength(3);
    expect(chart.querySelector("[data-series='total'] circle title")?.textContent).toMatch(/^Total, .*: 40.00 mL$/);
  });

  it("speaks Korean", async () => {
    backend();
    renderAt("/patients/P002", <Route path="/*" element={<App />} />);
    await screen.findByTestId("tumour-volumes");
    await userEvent.selectOptions(screen.getByLabelText("Language"), "ko");
    expect(await screen.findByRole("heading", { name: /종양 부피 추이/ })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: /검사별 전체 종양 부피/ })).toHaveAccessibleDescription(/검사 3건/);
    expect(screen.getByRole("columnheader", { name: "이전 검사 대비" })).toBeInTheDocument();
    expect(screen.getAllByText(/미서명/)).toHaveLength(1);
  });

  it("says when there are no volumes yet", async () => {
    backend({ patient_id: "P002", studies: [] });
    renderAt("/patients/P002", <Route path="/*" element={<App />} />);
    expect(await screen.findByText("No AI volumes for this patient yet.")).toBeInTheDocument();
  });

  it("has every new message in Korean", () => {
    for (const key of Object.keys(en.trend) as (keyof typeof en.trend)[]) expect(ko.trend[key]).not.toBe(en.trend[key]);
    for (const key of Object.keys(en.review.states) as (keyof typeof en.review.states)[]) {
      expect(ko.review.states[key]).not.toBe(en.review.states[key]);
    }
  });
});
