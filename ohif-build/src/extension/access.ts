// Runs before the viewer loads a study: no portal session -> back to the portal login (with
// `next` so the user returns here); a study the user may not see -> a clear access error
// instead of an empty or half-loaded viewer. The portal writes the audit record either way.
import { currentLanguage, messages } from "./i18n";
import { HttpError, loginUrl, portal, studyUidsFromLocation } from "./portal-api";

export const ACCESS_ERROR_ID = "neuronova-access-error";

export function showAccessError(message: string): void {
  if (document.getElementById(ACCESS_ERROR_ID)) return;
  const box = document.createElement("div");
  box.id = ACCESS_ERROR_ID;
  box.setAttribute("role", "alert");
  box.setAttribute("data-testid", "neuronova-access-error");
  box.style.cssText =
    "position:fixed;inset:0;z-index:10000;display:flex;flex-direction:column;align-items:center;" +
    "justify-content:center;gap:1rem;background:#050615;color:#fff;font:16px system-ui,sans-serif";
  const text = document.createElement("p");
  text.textContent = message;
  const back = document.createElement("a");
  back.href = "/";
  back.textContent = messages(currentLanguage()).backToPortal;
  back.style.color = "#7fb2ff";
  box.append(text, back);
  document.body.append(box);
}

export async function checkAccess(): Promise<"ok" | "login" | "denied"> {
  try {
    await portal.me().catch(async (error: unknown) => {
      // An expired access cookie with a live refresh cookie is not a logged-out user.
      if (error instanceof HttpError && error.status === 401 && (await refreshSession())) {
        return portal.me();
      }
      throw error;
    });
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) {
      window.location.assign(loginUrl(window.location.pathname + window.location.search));
      return "login";
    }
    throw error;
  }
  for (const studyUid of studyUidsFromLocation()) {
    try {
      await portal.study(studyUid);
    } catch (error) {
      if (error instanceof HttpError && [403, 404].includes(error.status)) {
        showAccessError(messages(currentLanguage()).accessDeniedOrMissing);
        return "denied";
      }
      throw error;
    }
  }
  return "ok";
}

/** Access cookies are short-lived (minutes); rotate them while the viewer stays open. */
export const KEEP_ALIVE_MS = 4 * 60 * 1000;

export async function refreshSession(): Promise<boolean> {
  const match = /(?:^|;\s*)csrftoken=([^;]*)/.exec(document.cookie);
  const response = await fetch("/api/auth/refresh", {
    method: "POST",
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      ...(match ? { "X-CSRFToken": decodeURIComponent(match[1]) } : {}),
    },
    body: "{}",
  }).catch(() => null);
  return !!response?.ok;
}

export function startSessionKeepAlive(): void {
  window.setInterval(() => void refreshSession(), KEEP_ALIVE_MS);
}
