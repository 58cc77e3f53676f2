// The per-label volume table of the AI panel and the language hook it shares with the panel.
import React, { useEffect, useState } from "react";
import { currentLanguage, formatVolume, LANG_STORAGE_KEY, messages, type Lang } from "./i18n";
import type { ReportLabel } from "./portal-api";

const muted = { color: "#9aa6b8" };
const swatchStyle = { display: "inline-block", width: "12px", height: "12px", borderRadius: "2px", marginRight: "6px" };

function swatch(color: number[] | null | undefined): string {
  return color && color.length >= 3 ? `rgb(${color.slice(0, 3).join(",")})` : "#888";
}

/** The portal's language; follows a switch made in another tab of the portal (storage event). */
export function useLanguage(): Lang {
  const [lang, setLang] = useState<Lang>(currentLanguage);
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === null || event.key === LANG_STORAGE_KEY) setLang(currentLanguage());
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);
  return lang;
}

/** Per-label volumes with their colours (the report's, else the SEG's once shown). */
export function VolumeTable({ labels, colors, lang }: { labels: ReportLabel[]; colors: Record<string, number[]>; lang: Lang }) {
  const t = messages(lang);
  return (
    <table style={{ width: "100%", borderCollapse: "collapse" }}>
      <thead>
        <tr style={muted}>
          <th style={{ textAlign: "left" }}>{t.label}</th>
          <th style={{ textAlign: "right" }}>{t.volume}</th>
        </tr>
      </thead>
      <tbody>
        {labels.map((label) => (
          <tr key={label.label} data-testid="neuronova-ai-label" data-label={label.label}>
            <td>
              <span style={{ ...swatchStyle, background: swatch(label.color_rgb ?? colors[label.label]) }} />
              {label.label}
            </td>
            <td style={{ textAlign: "right", fontVariantNumeric: "tabular-nums" }} data-testid="neuronova-ai-volume">
              {formatVolume(label.volume_ml, lang)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

