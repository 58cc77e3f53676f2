// A displayed image whose fetch failed is asked again by its viewport, instead of leaving it blank.
//
// A stack viewport loads the image it shows once (StackViewport._setImageIdIndex, through its
// images loader: cornerstone's progressive retrieve when a `stack` retrieve configuration is set,
// retrieve.ts); when that load fails for good, cornerstone fires IMAGE_LOAD_ERROR on its event
// target ({imageId, error}) and the viewport stays as it was: blank on the first image of a series
// ("a shipped mr512 open showed no first image in 300 s", docs/web.md), and nothing asks again
// (setImageIdIndex of the index it is already on returns at once; the stack prefetch retry,
// prefetchRetry.ts, only fills the cache). Here, after such a failure that is not a 4xx answer
// (the error's status, or for a byte-range fetch, which ignores it, the browser's: frameStatus.ts),
// each stack viewport that still has that image as its current one and does not show it gets
// the image asked again through its own images loader, with itself as the listener: the same
// call as cornerstone's own load of a displayed image (StackViewport._loadAndDisplayImageGPU),
// so the same retrieve stages and request type (interaction), and the image is drawn by the
// viewport's successCallback, which keeps the VOI OHIF set. Bounded: RETRY_DELAYS_MS.length
// attempts per viewport and image, with growing delays. A viewport that rendered on the CPU
// (no WebGL) is left alone: its successCallback is the GPU one.
//
// The error notice. A failed fetch also raises a "Something went wrong" toast: not from OHIF's
// image-load-error handler (extension-cornerstone's imageLoadFailedHandler only passes the
// error to app-config.js's httpErrorHandler, which shows nothing for a network failure) but from
// ui-next's ErrorBoundary, whose window `unhandledrejection` listener shows the rejection reason
// 100 ms later as an error notification with the id `error-<first line of its stack, or its
// message>` ("error-TypeError: Failed to fetch"); its duration 0 is sonner's default 4 s,
// paused while the pointer rests on the toasts, and each further rejection shows it again
// (OHIF's de-duplication aside). That listener is OHIF's and independent of IMAGE_LOAD_ERROR,
// so the notice cannot be held back while a retry is pending without swallowing every unhandled
// rejection of the page (a capturing window listener): not done. Instead, once every viewport
// whose failure carried that notice shows its image again, the notice is hidden through OHIF's
// uiNotificationService.hide(id) (noticeId mirrors the ErrorBoundary's id). A failure never
// recovered (retries exhausted) does not hide it.

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

/** OHIF's uiNotificationService, the part used here. */
export interface Notices {
  hide(id: string): void;
}

export interface DisplayedRetryOptions {
  later?: (fn: () => void, ms: number) => void;
  /** OHIF's uiNotificationService: hides the error notice of a failure once its image is shown. */
  notices?: Notices;
  /** The HTTP status the image's frame was last answered with, if the browser told
   * (frameStatus.ts): the byte-range fetch does not check it, so a 4xx arrives as a decode error. */
  statusOf?: (imageId: string) => number | undefined;
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

/** Pure: the id under which OHIF's ErrorBoundary shows `error` as a notification
 * (ui-next DefaultFallback: `error-${first line of error.stack || error.message}`). */
export function noticeId(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { stack, message } = error as { stack?: unknown; message?: unknown };
  const title = typeof stack === "string" ? (stack.split("\n")[0] ?? "").trim() : "";
  const text = title || (typeof message === "string" ? message : "");
  return text ? `error-${text}` : undefined;
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
  { later = (fn, ms) => void setTimeout(fn, ms), notices, statusOf }: DisplayedRetryOptions = {},
): boolean {
  const failed = cornerstone?.Enums?.Events?.IMAGE_LOAD_ERROR;
  if (!cornerstone?.eventTarget || !failed || !cornerstone.getRenderingEngines) {
    console.warn("NeuroNova mode: no displayed-image retry (cornerstone events or rendering engines missing)");
    return false;
  }
  const attempts = new Map<string, number>();
  const scheduled = new Set<string>();
  let total = 0;
  // Notice id -> the viewport/image keys whose failure raised it and that do not show the image yet.
  const open = new Map<string, Set<string>>();
  const recovered = (key: string) => {
    for (const [id, keys] of open) {
      if (!keys.delete(key) || keys.size) continue;
      open.delete(id);
      notices?.hide(id);
    }
  };
  const shows = (viewport: DisplayedViewport, imageId: string) => viewport.csImage?.imageId === imageId;
  const answered4xx = (imageId: string) => !retriable({ status: statusOf?.(imageId) });
  cornerstone.eventTarget.addEventListener(failed, (evt) => {
    const imageId = evt.detail?.imageId;
    if (typeof imageId !== "string" || !retriable(evt.detail?.error) || answered4xx(imageId)) return;
    for (const viewport of waiting(cornerstone, imageId)) {
      const key = `${viewport.id}\n${imageId}`;
      const done = attempts.get(key) ?? 0;
      const notice = noticeId(evt.detail?.error);
      if (notice) open.set(notice, (open.get(notice) ?? new Set()).add(key));
      // One failed load can report twice (the progressive loader's last stage, then "Couldn't
      // decode"): one retry per failure.
      if (scheduled.has(key) || done >= RETRY_DELAYS_MS.length) continue;
      scheduled.add(key);
      attempts.set(key, done + 1);
      later(() => {
        scheduled.delete(key);
        // The browser reports a response's status after the failure may have fired: asked here.
        if (answered4xx(imageId)) return;
        // The user may have scrolled away, or another load may have shown it meanwhile.
        const still = waiting(cornerstone, imageId).find((candidate) => candidate.id === viewport.id);
        if (!still?.imagesLoader) {
          if (shows(viewport, imageId)) recovered(key);
          return;
        }
        total += 1;
        // Probe for the e2e test and the benchmark: how many displayed-image retries this page made.
        (globalThis as { __neuronovaDisplayedRetries?: number }).__neuronovaDisplayedRetries = total;
        void Promise.resolve(still.imagesLoader.loadImages([imageId], still)).then(
          // The viewport's successCallback drew it (csImage), or it failed again (IMAGE_LOAD_ERROR).
          () => shows(still, imageId) && recovered(key),
          (error: unknown) => console.warn("NeuroNova mode: displayed image retry failed", imageId, error),
        );
      }, RETRY_DELAYS_MS[done]);
    }
  });
  return true;
}
