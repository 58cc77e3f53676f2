import { useTranslation } from "react-i18next";
import { ApiError } from "../api";

export function ErrorBox({ error }: { error: Error }) {
  const { t } = useTranslation();
  const text =
    error instanceof ApiError && error.status === 403
      ? t("error.forbidden")
      : t("error.generic", { message: error.message });
  return (
    <div className="error" role="alert">
      {text}
    </div>
  );
}
