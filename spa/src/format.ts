// Locale-aware display of DICOM values. Dates arrive as DA (YYYYMMDD) or ISO; names as PN
// ("Family^Given^Middle^Prefix^Suffix"). Korean names read family-name first without a comma;
// English ones given-name first.

export function parseDicomDate(value: string | null | undefined): Date | null {
  if (!value) return null;
  const da = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  if (da) return new Date(Date.UTC(Number(da[1]), Number(da[2]) - 1, Number(da[3])));
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

export function formatDate(value: string | null | undefined, locale: string): string {
  const date = parseDicomDate(value);
  if (!date) return value ?? "";
  const dateOnly = !value?.includes("T");
  return new Intl.DateTimeFormat(locale, {
    dateStyle: "medium",
    ...(dateOnly ? { timeZone: "UTC" } : { timeStyle: "short" }),
  }).format(date);
}

export function formatName(pn: string | null | undefined, locale: string): string {
  if (!pn) return "";
  const [family = "", given = "", middle = ""] = pn.split("=")[0].split("^");
  if (locale.startsWith("ko")) return [family, given, middle].filter(Boolean).join(" ");
  return [given, middle, family].filter(Boolean).join(" ");
}

export function formatVolume(ml: number, locale: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 2, minimumFractionDigits: 2 }).format(
    ml,
  );
}

export function modalitiesText(modalities: string[] | string | null | undefined): string {
  if (!modalities) return "";
  return Array.isArray(modalities) ? modalities.join(", ") : modalities;
}

export function rgbCss(color: number[] | undefined): string {
  if (!color || color.length < 3) return "transparent";
  return `rgb(${color[0]}, ${color[1]}, ${color[2]})`;
}
