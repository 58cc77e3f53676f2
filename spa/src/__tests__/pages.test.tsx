import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import i18n from "../i18n";
import { mockFetch, renderAt, Route } from "./helpers";
import { Login } from "../pages/Login";

const STUDY = {
  study_uid: "1.2.826.0.1.3680043.8.498.1",
  orthanc_study_id: "abc",
  patient_id: "P001",
  patient_name: "Hong^Gildong",
  study_date: "20240131",
  study_description: "Brain MRI",
  modalities: ["MR", "SEG"],
  ai_status: "done",
  series_count: 5,
};

const REPORT = {
  status: "done",
  model_id: "brain-tumour",
  model_version: "1.0.0",
  seg_series_uid: "1.2.3.4",
  labels: [
    { label: "enhancing tumour", color_rgb: [255, 0, 0], volume_ml: 12.5 },
    { label: "oedema", color_rgb: [0, 255, 0], volume_ml: 30.25 },
  ],
};

function backend(overrides: Record<string, { status: number; body?: unknown }> = {}) {
  return mockFetch((url, init) => {
    const key = `${(init.method ?? "GET").toUpperCase()} ${url}`;
    if (overrides[key]) return overrides[key];
    if (key === "GET /api/auth/me") return { status: 200, body: { username: "clinician", role: "clinician" } };
    if (key.startsWith("GET /api/studies?")) return { status: 200, body: { count: 60, results: [STUDY] } };
    if (key === `GET /api/studies/${STUDY.study_uid}`)
      return { status: 200, body: { study: STUDY, series: [{ series_uid: "1.2.5", modality: "MR", series_description: "T1", series_number: 1, instance_count: 24 }], report: REPORT, jobs: [{ job_id: "j1", state: "done", model_id: "brain-tumour", model_version: "1.0.0" }] } };
    return { status: 404, body: { detail: "not found" } };
  });
}

beforeEach(async () => {
  await act(() => i18n.changeLanguage("en"));
});
afterEach(() => vi.unstubAllGlobals());

describe("portal pages", () => {
  it("sends an anonymous user to the login page and back to where they were", async () => {
    let loggedIn = false;
    const calls = mockFetch((url, init) => {
      if (url === "/api/auth/me") return loggedIn ? { status: 200, body: { username: "clinician", role: "clinician" } } : { status: 401 };
      if (url === "/api/auth/login" && init.method === "POST") {
        loggedIn = true;
        return { status: 200, body: { username: "clinician", role: "clinician" } };
      }
      if (url.startsWith("/api/patients")) return { status: 200, body: [] };
      return { status: 404 };
    });
    renderAt("/patients", <Route path="/*" element={<App />} />);
    await userEvent.type(await screen.findByLabelText("Username"), "clinician");
    await userEvent.type(screen.getByLabelText("Password"), "clinician-dev-pass");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Patients" })).toBeInTheDocument();
    expect(calls.some((call) => call.url === "/api/auth/login")).toBe(true);
  });

  it("shows a clear message on wrong credentials", async () => {
    mockFetch((url) => (url === "/api/auth/login" ? { status: 401, body: { detail: "bad" } } : { status: 401 }));
    renderAt("/login", <Route path="/login" element={<Login />} />);
    await userEvent.type(screen.getByLabelText("Username"), "x");
    await userEvent.type(screen.getByLabelText("Password"), "y");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong username or password.");
  });

  it("lists studies with AI status, filters and pages through the API", async () => {
    const calls = backend();
    renderAt("/", <Route path="/*" element={<App />} />);
    const row = await screen.findByRole("row", { name: /Gildong Hong/ });
    expect(within(row).getByText("Done")).toHaveAttribute("data-status", "done");
    expect(within(row).getByText("Jan 31, 2024")).toBeInTheDocument();
    expect(screen.getByText("Page 1 of 3")).toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText("AI status"), "failed");
    await waitFor(() => expect(calls.at(-1)?.url).toBe("/api/studies?ai_status=failed&page=1"));
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(calls.at(-1)?.url).toBe("/api/studies?ai_status=failed&page=2"));
    await userEvent.type(screen.getByRole("searchbox"), "P001{enter}");
    await waitFor(() => expect(calls.at(-1)?.url).toBe("/api/studies?search=P001&ai_status=failed&page=1"));
  });

  it("shows the study's series, AI volumes with colours, jobs and the viewer link", async () => {
    backend();
    renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    const report = await screen.findByTestId("ai-report");
    expect(within(report).getByText("12.50")).toBeInTheDocument();
    expect(within(report).getByText("30.25")).toBeInTheDocument();
    const swatch = within(report).getByText("oedema").querySelector(".swatch") as HTMLElement;
    expect(swatch.style.background).toBe("rgb(0, 255, 0)");
    expect(screen.getByTestId("open-viewer")).toHaveAttribute(
      "href",
      `/pacs-viewer/ai?StudyInstanceUIDs=${STUDY.study_uid}`,
    );
    expect(screen.getByRole("cell", { name: "T1" })).toBeInTheDocument();
    expect(within(screen.getByTestId("jobs")).getByText("Done")).toBeInTheDocument();
  });

  it("says when the AI result needs a radiologist's review", async () => {
    const flagged = { ...REPORT, qc_score: 0.42, needs_review: true };
    backend({
      [`GET /api/studies/${STUDY.study_uid}`]: {
        status: 200,
        body: { study: STUDY, series: [], report: flagged, jobs: [] },
      },
    });
    renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    expect(await screen.findByTestId("ai-quality")).toHaveTextContent(
      "AI quality control score 0.42: needs a radiologist's review",
    );
  });

  it("marks unsigned AI results in the worklist", async () => {
    backend({
      "GET /api/studies?page=1": {
        status: 200,
        body: { count: 2, results: [
          { ...STUDY, review_state: "pending_review", signed: false },
          { ...STUDY, study_uid: "9.9", patient_name: "Kim^Minji", review_state: "accepted", signed: true },
        ] },
      },
    });
    renderAt("/", <Route path="/*" element={<App />} />);
    const unsigned = await screen.findByRole("row", { name: /Gildong Hong/ });
    expect(within(unsigned).getByTestId("worklist-review")).toHaveTextContent("Unsigned");
    const signed = screen.getByRole("row", { name: /Minji Kim/ });
    expect(within(signed).getByTestId("worklist-review")).toHaveTextContent("Accepted");
  });

  it("marks an unsigned AI result, and names the radiologist who signed one", async () => {
    backend();
    const view = renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    const review = await screen.findByTestId("review");
    expect(review).toHaveAttribute("data-state", "pending_review");
    expect(within(review).getByTestId("review-unsigned")).toHaveTextContent("Unsigned");
    expect(screen.getByTestId("patient-trend")).toHaveAttribute("href", "/patients/P001");
    view.unmount();
    const signed = {
      ...REPORT,
      review: { state: "edited", signed: true, reviewer: "radiologist", reviewed_at: "2026-12-03T10:00:00Z", impression: "Margin extended." },
    };
    backend({ [`GET /api/studies/${STUDY.study_uid}`]: { status: 200, body: { study: STUDY, series: [], report: signed, jobs: [] } } });
    renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    const done = await screen.findByTestId("review");
    expect(done).toHaveAttribute("data-signed", "true");
    expect(within(done).getByText("Edited")).toBeInTheDocument();
    expect(within(done).queryByTestId("review-unsigned")).not.toBeInTheDocument();
    expect(within(done).getByTestId("review-signer")).toHaveTextContent(/^Signed by radiologist on /);
    expect(within(done).getByTestId("review-impression")).toHaveTextContent("Impression: Margin extended.");
  });

  it("requests re-analysis with the CSRF header and shows the queued job", async () => {
    document.cookie = "csrftoken=csrf-1";
    const calls = backend({
      "GET /api/auth/me": { status: 200, body: { username: "radiologist", role: "radiologist" } },
      [`POST /api/studies/${STUDY.study_uid}/reanalyze`]: { status: 202, body: { job_id: "j2", state: "queued" } },
    });
    renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    await userEvent.click(await screen.findByRole("button", { name: "Request re-analysis" }));
    expect(await screen.findByText("Re-analysis queued.")).toBeInTheDocument();
    const post = calls.find((call) => call.init.method === "POST");
    expect((post?.init.headers as Record<string, string>)["X-CSRFToken"]).toBe("csrf-1");
  });

  it("offers re-analysis to radiologists and admins only", async () => {
    backend();  // signed in as a clinician
    renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    await screen.findByTestId("ai-report");
    expect(screen.queryByRole("button", { name: "Request re-analysis" })).not.toBeInTheDocument();
  });

  it("tells the user when a study is not accessible", async () => {
    backend({ [`GET /api/studies/${STUDY.study_uid}`]: { status: 403, body: { detail: "forbidden" } } });
    renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    expect(await screen.findByText("Study not found or not accessible.")).toBeInTheDocument();
    expect(screen.getByText("You do not have access to this.")).toBeInTheDocument();
  });

  it("switches to Korean with locale-aware names and dates", async () => {
    backend();
    renderAt("/", <Route path="/*" element={<App />} />);
    await screen.findByRole("row", { name: /Gildong Hong/ });
    await userEvent.selectOptions(screen.getByLabelText("Language"), "ko");
    expect(await screen.findByRole("heading", { name: "검사 목록" })).toBeInTheDocument();
    const row = screen.getByRole("row", { name: /Hong Gildong/ });
    expect(within(row).getByText("완료")).toBeInTheDocument();
    expect(within(row).getByText("2024. 1. 31.")).toBeInTheDocument();
    expect(localStorage.getItem("neuronova.lang")).toBe("ko");
  });

  it("drops to the login page when the session expires mid-use", async () => {
    backend({ [`GET /api/studies/${STUDY.study_uid}`]: { status: 401 } });
    renderAt(`/studies/${STUDY.study_uid}`, <Route path="/*" element={<App />} />);
    expect(await screen.findByRole("button", { name: "Sign in" })).toBeInTheDocument();
  });
});
