import { useState } from "react";
import { useTranslation } from "react-i18next";
import { uploadAll, type FileOutcome } from "../upload";

export function Upload() {
  const { t } = useTranslation();
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState(0);
  const [outcomes, setOutcomes] = useState<FileOutcome[]>([]);
  const [busy, setBusy] = useState(false);

  function choose(list: FileList | null) {
    setFiles(list ? Array.from(list) : []);
    setOutcomes([]);
    setProgress(0);
  }

  async function start() {
    setBusy(true);
    setOutcomes([]);
    await uploadAll(files, setProgress, (outcome) => setOutcomes((prev) => [...prev, outcome]));
    setBusy(false);
  }

  const ok = outcomes.filter((outcome) => outcome.ok).length;
  const percent = Math.round(progress * 100);
  return (
    <section>
      <h1>{t("upload.title")}</h1>
      <div className="upload-pickers">
        <label className="button">
          {t("upload.files")}
          <input
            type="file"
            multiple
            data-testid="upload-files"
            onChange={(event) => choose(event.target.files)}
          />
        </label>
        <label className="button">
          {t("upload.folder")}
          <input
            type="file"
            data-testid="upload-folder"
            // Non-standard but supported by Chromium, Firefox and Safari: pick a whole folder.
            {...({ webkitdirectory: "", directory: "" } as Record<string, string>)}
            onChange={(event) => choose(event.target.files)}
          />
        </label>
        <button
          type="button"
          className="primary"
          disabled={busy || files.length === 0}
          onClick={() => void start()}
        >
          {t("upload.start")} ({files.length})
        </button>
      </div>
      {files.length === 0 && <p className="muted">{t("upload.none")}</p>}
      {(busy || outcomes.length > 0) && (
        <div>
          <progress max={100} value={percent} aria-label={t("upload.progress", { percent })} />
          <span> {t("upload.progress", { percent })}</span>
        </div>
      )}
      {outcomes.length > 0 && (
        <>
          <p data-testid="upload-summary">
            {t("upload.summary", { ok, failed: outcomes.length - ok })}
          </p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t("upload.file")}</th>
                  <th>{t("upload.result")}</th>
                </tr>
              </thead>
              <tbody>
                {outcomes.map((outcome, index) => (
                  <tr key={`${outcome.name}-${index}`} className={outcome.ok ? "ok" : "failed"}>
                    <td>{outcome.name}</td>
                    <td>{outcome.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
