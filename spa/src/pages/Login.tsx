import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { ApiError, safeNext } from "../api";
import { useAuth } from "../auth";
import { LanguageSwitch } from "../components/Layout";

export function Login() {
  const { t } = useTranslation();
  const { login } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(
    params.get("expired") ? t("login.expired") : null,
  );
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
      const next = safeNext(params.get("next"));
      // The viewer is another app on this origin: leave the SPA router for it.
      if (next.startsWith("/pacs-viewer")) window.location.assign(next);
      else navigate(next, { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && (err.status === 400 || err.status === 401)
          ? t("login.failed")
          : t("error.generic", { message: (err as Error).message }),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login">
      <form onSubmit={(event) => void submit(event)} aria-label={t("login.title")}>
        <h1>{t("appName")}</h1>
        <h2>{t("login.title")}</h2>
        <label>
          {t("login.username")}
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            required
          />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            required
          />
        </label>
        {error && (
          <div className="error" role="alert">
            {error}
          </div>
        )}
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
        <LanguageSwitch />
      </form>
    </div>
  );
}
