// English and Korean for the NeuroNova AI panel. The language is the one the user chose in the
// portal: the SPA keeps it in localStorage under "neuronova.lang" (spa/src/i18n.ts), and the viewer
// is served from the same origin, so it reads the same key; with no choice yet it follows the
// browser, like the portal's first visit. OHIF's own chrome stays in OHIF's language: @ohif/i18n
// 3.13 ships no Korean locale.
import { AI_STATUS_LABELS } from "../../../web-shared/portal";
import type { ReviewState } from "./portal-api";

export const LANGUAGES = ["en", "ko"] as const;
export type Lang = (typeof LANGUAGES)[number];
export const LANG_STORAGE_KEY = "neuronova.lang";

export const en = {
  title: "NeuroNova AI",
  model: "Model",
  status: "Status",
  label: "Label",
  volume: "Volume (mL)",
  states: AI_STATUS_LABELS.en,
  showOverlay: "Show AI overlay",
  hideOverlay: "Hide AI overlay",
  loadingOverlay: "Loading overlay…",
  segNotLoaded: "The AI SEG series is not loaded in this viewer yet.",
  overlayFailed: "Could not show the overlay: {message}",
  reanalyze: "Request re-analysis",
  reanalyzeQueued: "Re-analysis queued.",
  reanalyzeFailed: "Re-analysis failed: {message}",
  accessDenied: "You do not have access to this study.",
  accessDeniedOrMissing: "You do not have access to this study, or it does not exist.",
  backToPortal: "Back to the NeuroNova portal",
  quality: "Quality",
  needsReview: "Needs review",
  qcPassed: "Passed",
  review: "Review",
  reviewStates: {
    pending_review: "Pending review",
    accepted: "Accepted",
    rejected: "Rejected",
    edited: "Edited",
  } as Record<ReviewState, string>,
  unsigned: "Unsigned",
  signedBy: "Signed by {reviewer}, {at}",
  accept: "Accept",
  reject: "Reject",
  edit: "Edit",
  impression: "Impression",
  reason: "Reason for rejection",
  sign: "Sign",
  saveAndSign: "Save edit and sign",
  cancel: "Cancel",
  saving: "Saving…",
  signed: "Signed.",
  signFailed: "Could not sign: {message}",
  saveFailed: "Could not save the edited segmentation: {message}",
  impressionRequired: "Write an impression before signing.",
  reasonRequired: "Give a reason for rejecting the result.",
  tools: "Segmentation tools",
  brush: "Brush",
  eraser: "Eraser",
  threshold: "Threshold brush",
  segment: "Segment",
  editHint: "Paint on the image with the chosen tool, then save.",
  priorChange: "Change vs prior ({date})",
  nadirChange: "Change vs nadir",
  noPrior: "No prior study",
  comparePrior: "Compare with prior",
  total: "Total",
};

export type Messages = typeof en;

export const ko: Messages = {
  title: "NeuroNova AI",
  model: "모델",
  status: "상태",
  label: "레이블",
  volume: "부피 (mL)",
  states: AI_STATUS_LABELS.ko,
  showOverlay: "AI 오버레이 표시",
  hideOverlay: "AI 오버레이 숨기기",
  loadingOverlay: "오버레이 불러오는 중…",
  segNotLoaded: "AI SEG 시리즈가 아직 이 뷰어에 로드되지 않았습니다.",
  overlayFailed: "오버레이를 표시할 수 없습니다: {message}",
  reanalyze: "재분석 요청",
  reanalyzeQueued: "재분석이 대기열에 등록되었습니다.",
  reanalyzeFailed: "재분석 요청 실패: {message}",
  accessDenied: "이 검사에 접근할 권한이 없습니다.",
  accessDeniedOrMissing: "이 검사에 접근할 권한이 없거나 검사가 없습니다.",
  backToPortal: "NeuroNova 포털로 돌아가기",
  quality: "품질",
  needsReview: "검토 필요",
  qcPassed: "통과",
  review: "판독 검토",
  reviewStates: {
    pending_review: "검토 대기",
    accepted: "승인됨",
    rejected: "반려됨",
    edited: "수정됨",
  },
  unsigned: "미서명",
  signedBy: "{reviewer} 서명, {at}",
  accept: "승인",
  reject: "반려",
  edit: "수정",
  impression: "판독 소견",
  reason: "반려 사유",
  sign: "서명",
  saveAndSign: "수정 저장 후 서명",
  cancel: "취소",
  saving: "저장 중…",
  signed: "서명되었습니다.",
  signFailed: "서명할 수 없습니다: {message}",
  saveFailed: "수정한 분할을 저장할 수 없습니다: {message}",
  impressionRequired: "서명하기 전에 판독 소견을 입력하세요.",
  reasonRequired: "결과를 반려하는 사유를 입력하세요.",
  tools: "분할 도구",
  brush: "브러시",
  eraser: "지우개",
  threshold: "임계값 브러시",
  segment: "분할 영역",
  editHint: "선택한 도구로 영상 위에 칠한 다음 저장하세요.",
  priorChange: "이전 검사 대비 변화 ({date})",
  nadirChange: "최저치 대비 변화",
  noPrior: "이전 검사 없음",
  comparePrior: "이전 검사와 비교",
  total: "합계",
};

const CATALOGUE: Record<Lang, Messages> = { en, ko };

/** BCP 47 tag for Intl formatting. */
export const LOCALES: Record<Lang, string> = { en: "en-US", ko: "ko-KR" };

/** The portal's stored choice if valid, else the browser's language, else English. */
export function resolveLanguage(stored: string | null | undefined, browser: string | null | undefined): Lang {
  if (stored && (LANGUAGES as readonly string[]).includes(stored)) return stored as Lang;
  return (browser ?? "").toLowerCase().startsWith("ko") ? "ko" : "en";
}

function storedChoice(): string | null {
  try {
    return typeof localStorage !== "undefined" ? localStorage.getItem(LANG_STORAGE_KEY) : null;
  } catch {
    return null; // storage disabled (privacy mode): fall back to the browser
  }
}

export function currentLanguage(): Lang {
  return resolveLanguage(storedChoice(), typeof navigator !== "undefined" ? navigator.language : null);
}

export function messages(lang: Lang): Messages {
  return CATALOGUE[lang];
}

/** "{name}" placeholders, as in the catalogue. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

export function statusLabel(lang: Lang, status: string): string {
  return (CATALOGUE[lang].states as Record<string, string>)[status] ?? status;
}

/** Volumes in mL, two decimals, with the locale's separators (same rule as the portal). */
export function formatVolume(ml: number, lang: Lang): string {
  return new Intl.NumberFormat(LOCALES[lang], { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(ml);
}
