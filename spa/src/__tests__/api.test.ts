import { afterEach, describe, expect, it, vi } from "vitest";
import { api, queryString, readCookie, safeNext, UnauthorizedError, viewerUrl } from "../api";
import { mockFetch } from "./helpers";

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
});

describe("api client", () => {
  it("reads cookies by exact name", () => {
    expect(readCookie("csrftoken", "a=1; csrftoken=abc%3D; xcsrftoken=no")).toBe("abc=");
    expect(readCookie("missing", "a=1")).toBeNull();
  });

  it("sends the CSRF token on unsafe methods only, with same-origin credentials", async () => {
    document.cookie = "csrftoken=tok123";
    const calls = mockFetch(() => ({ status: 200, body: { username: "u", role: "clinician" } }));
    await api.me();
    await api.login("u", "p");
    const [get, post] = calls.map((call) => call.init);
    expect(get.credentials).toBe("same-origin");
    expect((get.headers as Record<string, string>)["X-CSRFToken"]).toBeUndefined();
    expect((post.headers as Record<string, string>)["X-CSRFToken"]).toBe("tok123");
    expect(JSON.parse(String(post.body))).toEqual({ username: "u", password: "p" });
  });

  it("turns a 401 into UnauthorizedError", async () => {
    mockFetch(() => ({ status: 401, body: { detail: "no" } }));
    await expect(api.studies({})).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("surfaces the server's detail message on other errors", async () => {
    mockFetch(() => ({ status: 403, body: { detail: "not your patient" } }));
    await expect(api.study("1.2.3")).rejects.toMatchObject({ status: 403, message: "not your patient" });
  });

  it("builds worklist queries without empty parameters", async () => {
    const calls = mockFetch(() => ({ status: 200, body: { count: 0, results: [] } }));
    await api.studies({ search: "kim lee", ai_status: "", page: 2 });
    expect(calls[0].url).toBe("/api/studies?search=kim+lee&page=2");
    expect(queryString({})).toBe("");
  });

  it("accepts a plain list or a page for job history and patients", async () => {
    mockFetch((url) => ({
      status: 200,
      body: url.includes("jobs") ? { count: 1, results: [{ job_id: "j", state: "done" }] } : [{ patient_id: "p" }],
    }));
    expect(await api.jobs("1.2")).toEqual([{ job_id: "j", state: "done" }]);
    expect(await api.patients()).toEqual({ count: 1, results: [{ patient_id: "p" }] });
  });

  it("only allows same-origin paths as a post-login destination", () => {
    expect(safeNext("/pacs-viewer/ai?StudyInstanceUIDs=1.2")).toBe("/pacs-viewer/ai?StudyInstanceUIDs=1.2");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });

  it("links the viewer's AI mode with the study UID encoded", () => {
    expect(viewerUrl("1.2.3")).toBe("/pacs-viewer/ai?StudyInstanceUIDs=1.2.3");
  });
});

describe("session refresh", () => {
  it("rotates the access cookie once on a 401 and retries the call", async () => {
    let refreshed = false;
    const calls = mockFetch((url) => {
      if (url === "/api/auth/refresh") {
        refreshed = true;
        return { status: 200, body: {} };
      }
      return refreshed ? { status: 200, body: { count: 0, results: [] } } : { status: 401 };
    });
    await expect(api.studies({})).resolves.toEqual({ count: 0, results: [] });
    expect(calls.map((call) => call.url)).toEqual(["/api/studies", "/api/auth/refresh", "/api/studies"]);
  });

  it("gives up with UnauthorizedError when the refresh is refused too", async () => {
    const calls = mockFetch(() => ({ status: 401 }));
    await expect(api.studies({})).rejects.toBeInstanceOf(UnauthorizedError);
    expect(calls.filter((call) => call.url === "/api/auth/refresh")).toHaveLength(1);
  });

  it("never tries to refresh for a failed login", async () => {
    const calls = mockFetch(() => ({ status: 401 }));
    await expect(api.login("u", "bad")).rejects.toBeInstanceOf(UnauthorizedError);
    expect(calls.map((call) => call.url)).toEqual(["/api/auth/login"]);
  });
});

describe("study detail", () => {
  it("flattens the portal's {study, series, report, jobs} answer", async () => {
    mockFetch(() => ({
      status: 200,
      body: { study: { study_uid: "1.2", patient_id: "P" }, series: [{ series_uid: "1.2.3" }], report: null, jobs: [] },
    }));
    const detail = await api.study("1.2");
    expect(detail.study_uid).toBe("1.2");
    expect(detail.patient_id).toBe("P");
    expect(detail.series).toEqual([{ series_uid: "1.2.3" }]);
    expect(detail.report).toBeNull();
  });
});
