// A displayed image whose fetch failed is asked again by its viewport, instead of leaving it blank.
//
// A stack viewport loads the image it shows once (StackViewport._setImageIdIndex, through its
// images loader: cornerstone's progressive retrieve when a `stack` retrieve configuration is set,
// retrieve.ts); when that load fails for good, cornerstone fires IMAGE_LOAD_ERROR on its event
// target ({imageId, error}) and the viewport stays as it was: blank on the first image of a series
// ("a shipped mr512 open showed no first image in 300 s", docs/web.md), and nothing asks again
// (setImageIdIndex of the index it is already on returns at once; the stack prefetch retry,
// prefetchRetry.ts, only fills the cache). Here, after such a failure that is not a 4xx answer,
// each stack viewport that still has that image as its current one and does not show it gets
// the image asked again through its own images loader, with itself as the listener: the same
// call as cornerstone's own load of a displayed image (StackViewport._loadAndDisplayImageGPU),
// so the same retrieve stages and request type (interaction), and the image is drawn by the
// viewport's successCallback, which keeps the VOI OHIF set. Bounded: RETRY_DELAYS_MS.length
// attempts per viewport and image, with growing delays. A viewport that rendered on the CPU
// (no WebGL) is left alone: its successCallback is the GPU one.

import { retriable } from "./prefetchRetry";

export const RETRY_DELAYS_MS = [1000, 2000, 4000] as const;
const THUMBNAIL_ENGINE = "_thumbnails"; // cornerstone's loadImageToCanvas: off-screen viewports

interface ImagesLoader {
  loadImages(imageIds: string[], listener: unknown): Promise<unknown> | unknown;
}

export interface DisplayedViewport {
  id: string;
  type?: string;
  useCPURendering?: boolean;
  csImage?: { imageId?: string } | null;
  getCurrentImageId?: () => string | undefined;
  imagesLoader?: ImagesLoader;
}

export interface DisplayedCornerstone {
  eventTarget?: {
    addEventListener(type: string, listener: (evt: { detail?: { imageId?: unknown; error?: unknown } }) => void): void;
  };
  Enums?: { Events?: { IMAGE_LOAD_ERROR?: string } };
  getRenderingEngines?: () => { id?: string; getViewports(): DisplayedViewport[] }[];
}

/** Pure: whether `viewport` is a stack viewport on `imageId` that does not show it. */
export function waitsFor(viewport: DisplayedViewport, imageId: string): boolean {
  if (viewport.type !== undefined && viewport.type !== "stack") return false;
  if (viewport.useCPURendering || !viewport.imagesLoader) return false;
  return viewport.getCurrentImageId?.() === imageId && viewport.csImage?.imageId !== imageId;
}

function waiting(cornerstone: DisplayedCornerstone, imageId: string): DisplayedViewport[] {
  const found: DisplayedViewport[] = [];
  for (const engine of cornerstone.getRenderingEngines?.() ?? []) {
    if (engine.id === THUMBNAIL_ENGINE) continue;
    for (const viewport of engine.getViewports()) if (waitsFor(viewport, imageId)) found.push(viewport);
  }
  return found;
}

export function retryDisplayedImages(
  cornerstone: DisplayedCornerstone | undefined,
  later: (fn: () => void, ms: number) => void = (fn, ms) => void setTimeout(fn, ms),
): boolean {
  const failed = cornerstone?.Enums?.Events?.IMAGE_LOAD_ERROR;
  if (!cornerstone?.eventTarget || !failed || !cornerstone.getRenderingEngines) {
    console.warn("NeuroNova mode: no displayed-image retry (cornerstone events or rendering engines missing)");
    return false;
  }
  const attempts = new Map<string, number>();
  const scheduled = new Set<string>();
  let total = 0;
  cornerstone.eventTarget.addEventListener(failed, (evt) => {
    const imageId = evt.detail?.imageId;
    if (typeof imageId !== "string" || !retriable(evt.detail?.error)) return;
    for (const viewport of waiting(cornerstone, imageId)) {
      const key = `${viewport.id}\n${imageId}`;
      const done = attempts.get(key) ?? 0;
      // One failed load can report twice (the progressive loader's last stage, then "Couldn't
      // decode"): one retry per failure.
      if (scheduled.has(key) || done >= RETRY_DELAYS_MS.length) continue;
      scheduled.add(key);
      attempts.set(key, done + 1);
      total += 1;
      // Probe for the e2e test and the benchmark: how many displayed-image retries this page made.
      (globalThis as { __neuronovaDisplayedRetries?: number }).__neuronovaDisplayedRetries = total;
      later(() => {
        scheduled.delete(key);
        // The user may have scrolled away, or another load may have shown it meanwhile.
        const still = waiting(cornerstone, imageId).find((candidate) => candidate.id === viewport.id);
        if (!still?.imagesLoader) return;
        void Promise.resolve(still.imagesLoader.loadImages([imageId], still)).catch((error: unknown) =>
          console.warn("NeuroNova mode: displayed image retry failed", imageId, error),
        );
      }, RETRY_DELAYS_MS[done]);
    }
  });
  return true;
}
