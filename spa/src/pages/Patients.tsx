import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { ErrorBox } from "../components/ErrorBox";
import { formatDate, formatName } from "../format";
import { useLoad } from "../useLoad";

export function Patients() {
  const { t, i18n } = useTranslation();
  const { data, error, loading } = useLoad(() => api.patients(), []);
  const lang = i18n.language;
  return (
    <section>
      <h1>{t("patients.title")}</h1>
      {error && <ErrorBox error={error} />}
      {loading && !data && <p>{t("loading")}</p>}
      {data && data.results.length === 0 && <p>{t("patients.empty")}</p>}
      {data && data.results.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("worklist.patient")}</th>
                <th>{t("worklist.patientId")}</th>
                <th>{t("patients.birthDate")}</th>
                <th>{t("patients.sex")}</th>
                <th>{t("patients.studies")}</th>
                <th>{t("trend.title")}</th>
              </tr>
            </thead>
            <tbody>
              {data.results.map((patient) => (
                <tr key={patient.patient_id}>
                  <td>
                    <Link to={`/?search=${encodeURIComponent(patient.patient_id)}`}>
                      {formatName(patient.patient_name, lang) || patient.patient_id}
                    </Link>
                  </td>
                  <td>{patient.patient_id}</td>
                  <td>{formatDate(patient.birth_date, lang)}</td>
                  <td>{patient.sex}</td>
                  <td>{patient.study_count ?? ""}</td>
                  <td>
                    <Link to={`/patients/${encodeURIComponent(patient.patient_id)}`} data-testid="patient-trend">
                      {t("trend.open")}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
