import { useTranslation } from "react-i18next";
import type { AiStatus } from "../api";

export function StatusBadge({ status }: { status: AiStatus | null | undefined }) {
  const { t } = useTranslation();
  const value = status ?? "none";
  return (
    <span className={`badge badge-${value}`} data-status={value}>
      {t(`status.${value}`, { defaultValue: value })}
    </span>
  );
}
