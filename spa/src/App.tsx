import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useAuth } from "./auth";
import { Layout } from "./components/Layout";
import { Login } from "./pages/Login";
import { Patient } from "./pages/Patient";
import { Patients } from "./pages/Patients";
import { Study } from "./pages/Study";
import { Upload } from "./pages/Upload";
import { Worklist } from "./pages/Worklist";

function RequireLogin({ children }: { children: JSX.Element }) {
  const { me, checked } = useAuth();
  const location = useLocation();
  const { t } = useTranslation();
  if (!checked) return <p>{t("loading")}</p>;
  if (!me) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return children;
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route
        element={
          <RequireLogin>
            <Layout />
          </RequireLogin>
        }
      >
        <Route index element={<Worklist />} />
        <Route path="/patients" element={<Patients />} />
        <Route path="/patients/:patientId" element={<Patient />} />
        <Route path="/studies/:studyUid" element={<Study />} />
        <Route path="/upload" element={<Upload />} />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}
