// The AI panel rendered with React's server renderer (the same React 18.3.1 as the host dist):
// every visible string follows the portal's language choice.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import React from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { AiPanel, VolumeTable } from "../extension/AiPanel";
import type { Commands, Services } from "../extension/overlay";

const globals = globalThis as { window?: unknown; localStorage?: unknown };
let lang: string | null = null;

beforeEach(() => {
  globals.window = { location: { search: "?StudyInstanceUIDs=1.2.3" } };
  globals.localStorage = { getItem: (key: string) => (key === "neuronova.lang" ? lang : null) };
});
afterEach(() => {
  delete globals.window;
  delete globals.localStorage;
});

const services = {} as Services;
const commands = {} as Commands;

function text(html: string): string {
  return html.replace(/<[^>]+>/g, "|").replace(/\|+/g, "|");
}

test("the panel speaks Korean when the portal's choice is ko", () => {
  lang = "ko";
  const html = renderToStaticMarkup(<AiPanel services={services} commands={commands} initialRole="radiologist" />);
  assert.match(html, /data-lang="ko"/);
  assert.match(html, /lang="ko-KR"/);
  const shown = text(html);
  for (const word of ["모델", "상태", "AI 없음", "AI 오버레이 표시", "재분석 요청"]) {
    assert.ok(shown.includes(word), `${word} missing in ${shown}`);
  }
  for (const word of ["Model", "Status", "No AI", "Show AI overlay", "Request re-analysis"]) {
    assert.ok(!shown.includes(word), `English "${word}" left in the Korean panel`);
  }
});

test("the panel stays English when the portal's choice is en", () => {
  lang = "en";
  const shown = text(renderToStaticMarkup(<AiPanel services={services} commands={commands} initialRole="radiologist" />));
  for (const word of ["Model", "Status", "No AI", "Show AI overlay", "Request re-analysis"]) {
    assert.ok(shown.includes(word), `${word} missing in ${shown}`);
  }
});

test("the volume table has translated headers, locale-formatted volumes and the label colours", () => {
  const labels = [
    { label: "Left hippocampus", volume_ml: 3.456, color_rgb: [255, 0, 0] },
    { label: "Ventricles", volume_ml: 1234.5, color_rgb: null },
  ];
  const ko = renderToStaticMarkup(<VolumeTable labels={labels} colors={{ Ventricles: [0, 0, 255] }} lang="ko" />);
  assert.ok(ko.includes(">레이블<") && ko.includes(">부피 (mL)<"), ko);
  assert.ok(ko.includes(">3.46<") && ko.includes(">1,234.50<"), ko);
  assert.ok(ko.includes("rgb(255,0,0)") && ko.includes("rgb(0,0,255)"), ko);
  const en = renderToStaticMarkup(<VolumeTable labels={labels} colors={{}} lang="en" />);
  assert.ok(en.includes(">Label<") && en.includes(">Volume (mL)<"), en);
  assert.ok(en.includes("#888"), "no colour anywhere -> neutral swatch");
});
