// The HTTP status a frame was last answered with, from the browser's resource timing.
//
// cornerstone's byte-range fetch (dicom-image-loader rangeRequest -> fetchRangeAndAppend) reads
// the body of any answer and never looks at its status: a 4xx to a range request reaches
// IMAGE_LOAD_ERROR as bytes that do not decode, with no status, so the displayed-image retry
// (displayedRetry.ts) would ask it again. That fetch is cornerstone's and takes no hook (its
// retrieve options are plain data handed to the decode worker), so the status is read where the
// browser records it: PerformanceResourceTiming.responseStatus (Chromium 109+), through a
// PerformanceObserver (every entry, unlike the timeline buffer, which keeps 250 by default),
// keeping the last status of at most MAX_URLS URLs. A browser that records no status
// (responseStatus absent or 0) changes nothing: the failure is retried as before.

export const MAX_URLS = 4096;
const WADORS = "wadors:";

export interface ResourceEntry {
  name: string;
  responseStatus?: number;
}

export type ObserverClass = new (callback: (list: { getEntries(): ResourceEntry[] }) => void) => {
  observe(options: { type: string; buffered?: boolean }): void;
};

/** Pure: the absolute URL the dicom-image-loader fetches a `wadors:` image id from. */
export function frameUrl(imageId: string, base?: string): string | undefined {
  if (!imageId.startsWith(WADORS)) return undefined;
  try {
    return new URL(imageId.slice(WADORS.length), base).href;
  } catch {
    return undefined;
  }
}

/** Starts watching responses; returns the last status answered for an image id's frame URL. */
export function watchFrameStatus(
  Observer: ObserverClass | undefined = (globalThis as { PerformanceObserver?: ObserverClass }).PerformanceObserver,
  base: string | undefined = (globalThis as { location?: { href?: string } }).location?.href,
): (imageId: string) => number | undefined {
  const statuses = new Map<string, number>();
  if (!Observer) return () => undefined;
  try {
    new Observer((list) => {
      for (const { name, responseStatus } of list.getEntries()) {
        if (typeof responseStatus !== "number" || responseStatus === 0) continue;
        statuses.delete(name); // most recent last, so the oldest goes first
        statuses.set(name, responseStatus);
        if (statuses.size > MAX_URLS) statuses.delete(statuses.keys().next().value as string);
      }
    }).observe({ type: "resource", buffered: true });
  } catch (error) {
    console.warn("NeuroNova mode: no response statuses (resource timing unavailable)", error);
    return () => undefined;
  }
  return (imageId) => {
    const url = frameUrl(imageId, base);
    return url === undefined ? undefined : statuses.get(url);
  };
}
