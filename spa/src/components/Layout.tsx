import { NavLink, Outlet } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useAuth } from "../auth";
import { LANGUAGES, setLanguage } from "../i18n";

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="lang">
      <span className="sr-only">{t("language")}</span>
      <select
        aria-label={t("language")}
        value={i18n.language}
        onChange={(event) => setLanguage(event.target.value)}
      >
        {LANGUAGES.map((lang) => (
          <option key={lang} value={lang}>
            {lang === "ko" ? "한국어" : "English"}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Layout() {
  const { t } = useTranslation();
  const { me, logout } = useAuth();
  return (
    <div className="app">
      <header className="topbar">
        <strong className="brand">{t("appName")}</strong>
        <nav>
          <NavLink to="/" end>
            {t("nav.worklist")}
          </NavLink>
          <NavLink to="/patients">{t("nav.patients")}</NavLink>
          <NavLink to="/upload">{t("nav.upload")}</NavLink>
        </nav>
        <span className="spacer" />
        <span className="who" data-testid="who">
          {me?.username} ({me?.role})
        </span>
        <LanguageSwitch />
        <button type="button" onClick={() => void logout()}>
          {t("nav.logout")}
        </button>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
