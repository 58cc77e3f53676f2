// The displayed image first: background requests wait while the viewer fetches what is on screen.
//
// cornerstone3D's request pool runs its request types side by side, each up to its own limit
// (app-config.js `maxNumRequests`): when a stack is shown, OHIF asks the displayed image as an
// "interaction" request and at the same moment enables cornerstone's stack-context prefetch
// ("prefetch", up to 10 whole frames) and draws the series thumbnails ("thumbnail"). On a
// 20 Mbit/s link the displayed frame then shares the link with ten neighbours: its 512 KB
// (uncompressed 512×512) or its 64 KB first range (progressive HTJ2K) arrives about as late as
// they do. Here the pool sends no thumbnail or prefetch request while an interaction request is
// queued or in flight; those wait (they stay queued, in their order) and start as soon as the
// last interaction request ends (the pool grabs again when a request ends). This applies to every
// transfer syntax and every retrieve mode, not only to HTJ2K.
//
// Volumes (MPR): cornerstone's interleaved volume stages (OHIF's `volume` retrieve configuration)
// are "thumbnail" requests (priorities 5-11), so they too wait while a stack viewport's displayed
// image is fetched (at most HOLD_LIMIT_MS); their order among themselves is unchanged.
//
// The hold is bounded: an interaction request that never ends (a stalled streamed read, see
// docs/web.md) must not stop thumbnails and prefetch for good, so after HOLD_LIMIT_MS of one
// continuous hold the pool sends them again, as cornerstone would have from the start.

export const HELD_TYPES = ["thumbnail", "prefetch"] as const;
export const HOLD_LIMIT_MS = 3000;
const INTERACTION = "interaction";

export interface RequestPool {
  numRequests: Record<string, number>;
  requestPool: Record<string, Record<string, unknown[]>>;
  sendRequests(type: string): boolean;
  startGrabbing(): void;
  __neuronovaInteractionFirst?: boolean;
}

export interface Clock {
  now(): number;
  later(fn: () => void, ms: number): void;
}

const realClock: Clock = { now: () => Date.now(), later: (fn, ms) => void setTimeout(fn, ms) };

/** Pure: whether an interaction request is in flight or waiting in the pool. */
export function interactionPending(pool: Pick<RequestPool, "numRequests" | "requestPool">): boolean {
  if ((pool.numRequests[INTERACTION] ?? 0) > 0) return true;
  const queued = pool.requestPool[INTERACTION] ?? {};
  return Object.values(queued).some((requests) => requests.length > 0);
}

/** Makes the pool hold thumbnail and prefetch requests while interaction requests are pending.
 * Idempotent (a mode entered twice wraps once). Returns whether it was installed now. */
export function interactionFirst(pool: RequestPool | undefined, clock: Clock = realClock): boolean {
  if (!pool || typeof pool.sendRequests !== "function") {
    throw new Error("NeuroNova mode: cornerstone's imageLoadPoolManager is missing");
  }
  if (pool.__neuronovaInteractionFirst) return false;
  const send = pool.sendRequests.bind(pool);
  let holdingSince: number | null = null;
  pool.sendRequests = (type: string): boolean => {
    if (!(HELD_TYPES as readonly string[]).includes(type)) return send(type);
    if (!interactionPending(pool)) {
      holdingSince = null;
      return send(type);
    }
    if (holdingSince === null) {
      holdingSince = clock.now();
      // Nothing else may wake the pool if the interaction request never ends.
      clock.later(() => pool.startGrabbing(), HOLD_LIMIT_MS);
    }
    if (clock.now() - holdingSince >= HOLD_LIMIT_MS) return send(type);
    // `true` tells the pool requests remain, so it stays awake and grabs again when the
    // interaction requests end (RequestPoolManager.startAgain).
    return true;
  };
  pool.__neuronovaInteractionFirst = true;
  return true;
}
