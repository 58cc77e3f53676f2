// English and Korean UI. The chosen language persists in localStorage; the first visit follows
// the browser (navigator.language), defaulting to English.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

import { AI_STATUS_LABELS } from "../../web-shared/portal";

export const en = {
  appName: "NeuroNova",
  nav: { worklist: "Worklist", patients: "Patients", upload: "Upload", logout: "Log out" },
  language: "Language",
  login: {
    title: "Sign in",
    username: "Username",
    password: "Password",
    submit: "Sign in",
    failed: "Wrong username or password.",
    expired: "Your session has expired. Please sign in again.",
  },
  worklist: {
    title: "Worklist",
    search: "Search patient, ID or description",
    aiStatus: "AI status",
    any: "Any",
    patient: "Patient",
    patientId: "Patient ID",
    date: "Study date",
    description: "Description",
    modalities: "Modality",
    series: "Series",
    empty: "No studies match.",
    count: "{{count}} studies",
    previous: "Previous",
    next: "Next",
    page: "Page {{page}} of {{pages}}",
  },
  status: AI_STATUS_LABELS.en,
  patients: { title: "Patients", empty: "No patients.", birthDate: "Birth date", sex: "Sex", studies: "Studies" },
  study: {
    title: "Study",
    series: "Series",
    number: "No.",
    modality: "Modality",
    description: "Description",
    instances: "Images",
    report: "AI report",
    noReport: "No AI result yet.",
    model: "Model",
    label: "Label",
    volume: "Volume (mL)",
    seg: "SEG series",
    quality: "AI quality control score {{score}}",
    needsReview: "needs a radiologist's review",
    jobs: "Job history",
    noJobs: "No jobs.",
    state: "State",
    when: "When",
    reason: "Reason",
    reanalyze: "Request re-analysis",
    reanalyzeQueued: "Re-analysis queued.",
    openViewer: "Open in viewer",
    notFound: "Study not found or not accessible.",
  },
  upload: {
    title: "Upload DICOM",
    files: "Choose files",
    folder: "Choose a folder",
    start: "Upload",
    progress: "Uploaded {{percent}}%",
    file: "File",
    result: "Result",
    summary: "{{ok}} stored, {{failed}} failed",
    none: "No files chosen.",
  },
  error: { generic: "Something went wrong: {{message}}", forbidden: "You do not have access to this." },
  review: {
    title: "Radiologist review",
    state: "Review",
    states: { pending_review: "Pending review", accepted: "Accepted", rejected: "Rejected", edited: "Edited" },
    unsigned: "Unsigned",
    unsignedNote: "Not yet signed by a radiologist: a preliminary AI result.",
    signedBy: "Signed by {{reviewer}} on {{at}}",
    impression: "Impression",
    reason: "Reason",
  },
  trend: {
    title: "Tumour volume over time",
    open: "Tumour trend",
    chartTitle: "Total tumour volume and volume per label at each study (mL)",
    summary:
      "{{count}} studies: {{first}} mL on {{firstDate}}, {{last}} mL on {{lastDate}}; smallest {{nadir}} mL on {{nadirDate}}.",
    empty: "No AI volumes for this patient yet.",
    tableCaption: "Tumour volumes by study, with the change against the previous study and against the nadir",
    total: "Total",
    vsPrevious: "Change vs previous",
    vsNadir: "Change vs nadir",
  },
  loading: "Loading…",
};

export const ko: typeof en = {
  appName: "NeuroNova",
  nav: { worklist: "검사 목록", patients: "환자", upload: "업로드", logout: "로그아웃" },
  language: "언어",
  login: {
    title: "로그인",
    username: "사용자 이름",
    password: "비밀번호",
    submit: "로그인",
    failed: "사용자 이름 또는 비밀번호가 올바르지 않습니다.",
    expired: "세션이 만료되었습니다. 다시 로그인하십시오.",
  },
  worklist: {
    title: "검사 목록",
    search: "환자, ID 또는 설명 검색",
    aiStatus: "AI 상태",
    any: "전체",
    patient: "환자",
    patientId: "환자 ID",
    date: "검사일",
    description: "설명",
    modalities: "모달리티",
    series: "시리즈",
    empty: "일치하는 검사가 없습니다.",
    count: "검사 {{count}}건",
    previous: "이전",
    next: "다음",
    page: "{{pages}}쪽 중 {{page}}쪽",
  },
  status: AI_STATUS_LABELS.ko,
  patients: { title: "환자", empty: "환자가 없습니다.", birthDate: "생년월일", sex: "성별", studies: "검사" },
  study: {
    title: "검사",
    series: "시리즈",
    number: "번호",
    modality: "모달리티",
    description: "설명",
    instances: "영상 수",
    report: "AI 판독 결과",
    noReport: "아직 AI 결과가 없습니다.",
    model: "모델",
    label: "레이블",
    volume: "부피 (mL)",
    seg: "SEG 시리즈",
    quality: "AI 품질 점수 {{score}}",
    needsReview: "영상의학과 전문의 검토 필요",
    jobs: "작업 이력",
    noJobs: "작업이 없습니다.",
    state: "상태",
    when: "시각",
    reason: "사유",
    reanalyze: "재분석 요청",
    reanalyzeQueued: "재분석이 대기열에 등록되었습니다.",
    openViewer: "뷰어에서 열기",
    notFound: "검사를 찾을 수 없거나 접근 권한이 없습니다.",
  },
  upload: {
    title: "DICOM 업로드",
    files: "파일 선택",
    folder: "폴더 선택",
    start: "업로드",
    progress: "{{percent}}% 업로드됨",
    file: "파일",
    result: "결과",
    summary: "{{ok}}개 저장, {{failed}}개 실패",
    none: "선택한 파일이 없습니다.",
  },
  error: { generic: "오류가 발생했습니다: {{message}}", forbidden: "접근 권한이 없습니다." },
  review: {
    title: "영상의학과 전문의 검토",
    state: "검토",
    states: { pending_review: "검토 대기", accepted: "승인됨", rejected: "반려됨", edited: "수정됨" },
    unsigned: "미서명",
    unsignedNote: "아직 영상의학과 전문의가 서명하지 않은 예비 AI 결과입니다.",
    signedBy: "{{reviewer}} 서명, {{at}}",
    impression: "판독 소견",
    reason: "사유",
  },
  trend: {
    title: "종양 부피 추이",
    open: "종양 추이",
    chartTitle: "검사별 전체 종양 부피와 레이블별 부피 (mL)",
    summary:
      "검사 {{count}}건: {{firstDate}} {{first}} mL, {{lastDate}} {{last}} mL; 최저치 {{nadirDate}} {{nadir}} mL.",
    empty: "이 환자의 AI 부피 결과가 아직 없습니다.",
    tableCaption: "검사별 종양 부피와 이전 검사 및 최저치 대비 변화",
    total: "합계",
    vsPrevious: "이전 검사 대비",
    vsNadir: "최저치 대비",
  },
  loading: "불러오는 중…",
};

export const LANGUAGES = ["en", "ko"] as const;
const STORAGE_KEY = "neuronova.lang";

export function initialLanguage(): string {
  const stored = typeof localStorage !== "undefined" ? localStorage.getItem(STORAGE_KEY) : null;
  if (stored && (LANGUAGES as readonly string[]).includes(stored)) return stored;
  const browser = typeof navigator !== "undefined" ? navigator.language : "en";
  return browser.toLowerCase().startsWith("ko") ? "ko" : "en";
}

export function setLanguage(lang: string): void {
  localStorage.setItem(STORAGE_KEY, lang);
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, ko: { translation: ko } },
  lng: initialLanguage(),
  fallbackLng: "en",
  interpolation: { escapeValue: false },
});

export default i18n;
