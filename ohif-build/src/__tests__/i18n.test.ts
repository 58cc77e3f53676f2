import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import {
  currentLanguage, en, fill, formatVolume, ko, LANG_STORAGE_KEY, messages, resolveLanguage, statusLabel,
  type Messages,
} from "../extension/i18n";

function keys(value: unknown, prefix = ""): string[] {
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) =>
    typeof inner === "object" && inner !== null ? keys(inner, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

test("Korean covers every English message, with non-empty, translated text", () => {
  assert.deepEqual(keys(ko).sort(), keys(en).sort());
  const same = keys(en).filter((key) => {
    const pick = (m: Messages) => key.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], m);
    assert.ok(String(pick(ko)).trim(), `ko.${key} is empty`);
    return pick(ko) === pick(en);
  });
  assert.deepEqual(same, ["title"], "only the product name stays untranslated");
  // Placeholders survive translation.
  for (const key of ["overlayFailed", "reanalyzeFailed"] as const) {
    assert.match(ko[key], /\{message\}/);
  }
});

test("the language is the portal's stored choice, else the browser's, else English", () => {
  assert.equal(resolveLanguage("ko", "en-US"), "ko");
  assert.equal(resolveLanguage("en", "ko-KR"), "en");
  assert.equal(resolveLanguage(null, "ko-KR"), "ko");
  assert.equal(resolveLanguage(null, "ko"), "ko");
  assert.equal(resolveLanguage("fr", "de-DE"), "en", "an unknown stored value is ignored");
  assert.equal(resolveLanguage(undefined, undefined), "en");
});

const globals = globalThis as { localStorage?: unknown; navigator?: unknown };
const saved = { localStorage: globals.localStorage };
afterEach(() => {
  globals.localStorage = saved.localStorage;
});

function fakeStorage(entries: Record<string, string>) {
  return { getItem: (key: string) => entries[key] ?? null };
}

test("currentLanguage reads the same localStorage key as the portal (spa/src/i18n.ts)", () => {
  assert.equal(LANG_STORAGE_KEY, "neuronova.lang");
  globals.localStorage = fakeStorage({ "neuronova.lang": "ko" });
  assert.equal(currentLanguage(), "ko");
  globals.localStorage = fakeStorage({ "neuronova.lang": "en" });
  assert.equal(currentLanguage(), "en");
  globals.localStorage = {
    getItem() {
      throw new Error("SecurityError");
    },
  };
  assert.ok(["en", "ko"].includes(currentLanguage()), "blocked storage falls back to the browser");
});

test("volumes use the locale's separators with two decimals", () => {
  assert.equal(formatVolume(12.345, "en"), "12.35");
  assert.equal(formatVolume(1234.5, "en"), "1,234.50");
  assert.equal(formatVolume(1234.5, "ko"), "1,234.50");
  assert.equal(formatVolume(0.004, "ko"), "0.00");
  assert.equal(formatVolume(3, "ko"), "3.00");
});

test("status labels and messages are translated; unknown states pass through", () => {
  assert.equal(statusLabel("ko", "done"), "완료");
  assert.equal(statusLabel("en", "running"), "Running");
  assert.equal(statusLabel("ko", "none"), "AI 없음");
  assert.equal(statusLabel("ko", "exploded"), "exploded");
  assert.equal(messages("ko").reanalyze, "재분석 요청");
  assert.equal(messages("en").reanalyzeQueued, "Re-analysis queued.");
  assert.equal(fill(messages("ko").reanalyzeFailed, { message: "HTTP 500" }), "재분석 요청 실패: HTTP 500");
  assert.equal(fill("{a} {b}", { a: "x" }), "x {b}");
});
