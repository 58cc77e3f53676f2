// The HTJ2K decoder started while the study's metadata loads, not when the first frame arrives.
//
// cornerstone's dicomImageLoader decodes in web workers (app-config.js `maxNumberOfWebWorkers`),
// and each worker fetches, compiles and instantiates the OpenJPH WebAssembly (2.1 MB, 0.6 MB
// gzipped) on its first HTJ2K frame, so the first image of an HTJ2K study waited for that after
// its bytes had arrived. When the mode starts, each worker is given one tiny HTJ2K codestream to
// decode (8×8, 16 bits, written by the same encoder as the archive's: OpenJPH, reversible, TLM),
// which loads the codec there while OHIF is still reading the study's metadata. The archive stores
// MR as HTJ2K, so the viewer does this for every study it opens, whatever its frames turn out to
// be (it cannot know before the first frame answers: the series metadata carries no transfer
// syntax). A failure only costs the warm-up (logged); decoding works as before.

export const HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202";

/** 8×8 uint16 ramp (value 64·i), HTJ2K reversible with TLM, 218 bytes (imagecodecs 2026.3.6). */
export const TINY_HTJ2K =
  "/0//UQApQAAAAAAIAAAACAAAAAAAAAAAAAAACAAAAAgAAAAAAAAAAAABDwEB/1AACAACAAAACv9SAAwAAgABAAUEBEAB" +
  "/1wAEyCIkJCQkJCQkJCQkJCQiIiI/2QAFwABT3BlbkpQSCBWZXIgMC4yNi4zLv9VAAoAYAAAAAAAWf+QAAoAAAAAAFkA" +
  "Af+TwAAmu/UFB3QAAADAABNAABMARv4CB3QAPvIDh3QAwAATQAATgB4eAYJ0AP7ojwDDVADAACogABVAvu/7qnCCdQD+" +
  "+/fvwEIB7LYA/9k=";

export interface WorkerManager {
  workerRegistry?: Record<string, { instances?: unknown[] } | undefined>;
  executeTask(worker: string, method: string, args: Record<string, unknown>): Promise<unknown>;
}

export interface WarmupCornerstone {
  getWebWorkerManager?: () => WorkerManager | undefined;
}

const WORKER = "dicomImageLoader";

function bytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Pure: the arguments of one decodeTask (dicomImageLoader's worker API) for the tiny frame. */
export function warmupTask(): Record<string, unknown> {
  return {
    imageFrame: {
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 16,
      pixelRepresentation: 0,
      rows: 8,
      columns: 8,
      photometricInterpretation: "MONOCHROME2",
    },
    transferSyntax: HTJ2K_LOSSLESS_RPCL,
    pixelData: bytes(TINY_HTJ2K),
    decodeConfig: {},
    options: { preScale: { enabled: false } },
  };
}

/** One warm-up decode per decode worker (the manager gives each task the least busy worker, so
 * N tasks sent together reach N workers). Resolves to the number of decodes that succeeded. */
export async function warmDecoders(cornerstone: WarmupCornerstone | undefined): Promise<number> {
  const manager = cornerstone?.getWebWorkerManager?.();
  const workers = manager?.workerRegistry?.[WORKER]?.instances?.length ?? 0;
  if (!manager || workers < 1) {
    console.warn("NeuroNova mode: no dicomImageLoader workers to warm up");
    return 0;
  }
  const results = await Promise.allSettled(
    Array.from({ length: workers }, () => manager.executeTask(WORKER, "decodeTask", warmupTask())),
  );
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length) console.warn("NeuroNova mode: HTJ2K decoder warm-up failed", failed[0]);
  return results.length - failed.length;
}
