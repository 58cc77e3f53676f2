import { describe, expect, it } from "vitest";
import { outcomeOf, uploadAll, type Sender } from "../upload";

function file(name: string, size: number): File {
  return new File([new Uint8Array(size)], name, { type: "application/dicom" });
}

describe("upload", () => {
  it("reads per-file results in the shapes the API may answer", () => {
    expect(outcomeOf("a.dcm", 200, { results: [{ filename: "a.dcm", status: "stored" }] })).toEqual({
      name: "a.dcm",
      ok: true,
      message: "stored",
    });
    expect(outcomeOf("b.dcm", 200, [{ ok: false, error: "not DICOM" }])).toEqual({
      name: "b.dcm",
      ok: false,
      message: "not DICOM",
    });
    expect(outcomeOf("c.dcm", 413, { detail: "too large" })).toEqual({
      name: "c.dcm",
      ok: false,
      message: "too large",
    });
    expect(outcomeOf("d.dcm", 200, { results: [{ status: "failed", error: "rejected" }] }).ok).toBe(false);
  });

  it("uploads every file, keeps going after a failure and reports monotonic progress", async () => {
    const progress: number[] = [];
    const seen: string[] = [];
    const send: Sender = async (f, onProgress) => {
      onProgress(f.size / 2);
      onProgress(f.size);
      if (f.name === "bad.dcm") throw new Error("network error");
      return { status: 200, body: { results: [{ status: "stored" }] } };
    };
    const outcomes = await uploadAll(
      [file("one.dcm", 100), file("bad.dcm", 300), file("three.dcm", 100)],
      (fraction) => progress.push(fraction),
      (outcome) => seen.push(outcome.name),
      send,
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(outcomes[1].message).toBe("network error");
    expect(seen).toEqual(["one.dcm", "bad.dcm", "three.dcm"]);
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress).toContain(0.1);
  });
});
