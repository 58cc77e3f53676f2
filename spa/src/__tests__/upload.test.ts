import { describe, expect, it } from "vitest";
import { batches, outcomesOf, uploadAll, type Sender } from "../upload";

function file(name: string, size: number): File {
  return new File([new Uint8Array(size)], name, { type: "application/dicom" });
}

describe("upload", () => {
  it("reads the portal's per-file results, rejected ones with their reason", () => {
    const body = {
      results: [
        { name: "a.dcm", status: "stored", reason: "" },
        { name: "b.dcm", status: "rejected", reason: "patient not assigned to you" },
        { name: "c.dcm", status: "duplicate", reason: "" },
      ],
    };
    expect(outcomesOf(["a.dcm", "b.dcm", "c.dcm"], 200, body)).toEqual([
      { name: "a.dcm", ok: true, message: "stored" },
      { name: "b.dcm", ok: false, message: "rejected: patient not assigned to you" },
      { name: "c.dcm", ok: true, message: "duplicate" },
    ]);
  });

  it("marks every file of a refused request with the server's detail", () => {
    expect(outcomesOf(["a", "b"], 413, { detail: "upload too large" })).toEqual([
      { name: "a", ok: false, message: "upload too large" },
      { name: "b", ok: false, message: "upload too large" },
    ]);
    expect(outcomesOf(["a"], 401, null)[0].message).toBe("unauthorized");
    expect(outcomesOf(["a"], 200, { results: [] })[0].ok).toBe(false);
  });

  it("batches by file count and bytes, never leaving a file out", () => {
    const files = [file("1", 10), file("2", 10), file("3", 10), file("4", 50), file("5", 10)];
    expect(batches(files, 2, 1000).map((b) => b.map((f) => f.name))).toEqual([["1", "2"], ["3", "4"], ["5"]]);
    expect(batches(files, 10, 30).map((b) => b.map((f) => f.name))).toEqual([["1", "2", "3"], ["4"], ["5"]]);
    expect(batches([])).toEqual([]);
  });

  it("uploads every batch, keeps going after a failure and reports monotonic progress", async () => {
    const progress: number[] = [];
    const seen: string[] = [];
    const many = Array.from({ length: 20 }, (_, i) => file(`f${i}.dcm`, 100));
    const send: Sender = async (batch, onProgress) => {
      const size = batch.reduce((sum, f) => sum + f.size, 0);
      onProgress(size / 2);
      onProgress(size);
      if (batch.some((f) => f.name === "f17.dcm")) throw new Error("network error");
      return { status: 200, body: { results: batch.map((f) => ({ name: f.name, status: "stored" })) } };
    };
    const outcomes = await uploadAll(many, (fraction) => progress.push(fraction), (o) => seen.push(o.name), send);
    expect(outcomes).toHaveLength(20);
    expect(outcomes.slice(0, 16).every((o) => o.ok)).toBe(true);
    expect(outcomes.slice(16).every((o) => !o.ok && o.message === "network error")).toBe(true);
    expect(seen).toEqual(many.map((f) => f.name));
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress).toContain(0.4);
  });
});
