// A frame whose fetch failed on the network is asked again, instead of leaving the series short.
//
// cornerstone's stack-context prefetch requests every image of the displayed stack once; an image
// whose request fails (IMAGE_LOAD_FAILED; "Failed to fetch", a connection closed under it) is
// never requested again until the user scrolls onto it, so the series stays incomplete for good
// (the "stalled uncompressed open" of docs/web.md: 4 of 160 frames failed at 20 Mbit/s and the
// open waited forever with nothing in flight). Here, a failure that is not an HTTP 4xx answer
// (those will not change by asking again) re-enables the stack-context prefetch of every stack
// viewport after RETRY_DELAY_MS; the prefetch skips what is cached, so only the missing images are
// requested again, with cornerstone's own options. At most MAX_RETRIES such rounds per mode entry.

export const RETRY_DELAY_MS = 1000;
export const MAX_RETRIES = 3;

export interface StackViewport {
  element?: unknown;
  getImageIds?: () => string[];
}

export interface RetryCornerstone {
  eventTarget?: { addEventListener(type: string, listener: (evt: { detail?: { error?: unknown } }) => void): void };
  Enums?: { Events?: { IMAGE_LOAD_FAILED?: string } };
  getRenderingEngines?: () => { getViewports(): StackViewport[] }[];
}

export interface RetryTools {
  utilities?: { stackContextPrefetch?: { enable(element: unknown): void } };
}

/** Pure: whether asking again may help (a network failure or a 5xx, not a 4xx answer). */
export function retriable(error: unknown): boolean {
  const status = (error as { status?: unknown } | null | undefined)?.status;
  return !(typeof status === "number" && status >= 400 && status < 500);
}

export function retryFailedPrefetch(
  cornerstone: RetryCornerstone | undefined,
  tools: RetryTools | undefined,
  later: (fn: () => void, ms: number) => void = (fn, ms) => void setTimeout(fn, ms),
): boolean {
  const failed = cornerstone?.Enums?.Events?.IMAGE_LOAD_FAILED;
  const prefetch = tools?.utilities?.stackContextPrefetch;
  if (!cornerstone?.eventTarget || !failed || !prefetch) {
    console.warn("NeuroNova mode: no failed-image retry (cornerstone events or stack prefetch missing)");
    return false;
  }
  let rounds = 0;
  let scheduled = false;
  cornerstone.eventTarget.addEventListener(failed, (evt) => {
    if (scheduled || rounds >= MAX_RETRIES || !retriable(evt.detail?.error)) return;
    scheduled = true;
    rounds += 1;
    // Probe for the benchmark (bench/viewer_open.py): how many retry rounds this page made.
    (globalThis as { __neuronovaPrefetchRetries?: number }).__neuronovaPrefetchRetries = rounds;
    later(() => {
      scheduled = false;
      for (const engine of cornerstone.getRenderingEngines?.() ?? []) {
        for (const viewport of engine.getViewports()) {
          if (viewport.element && viewport.getImageIds?.().length) prefetch.enable(viewport.element);
        }
      }
    }, RETRY_DELAY_MS);
  });
  return true;
}
