// How the viewer fetches frames (cornerstone3D's "retrieve configuration": stages + options).
//
// The portal stores MR as RPCL HTJ2K and serves those frames to byte ranges (docs/portal.md):
// the first bytes of such a codestream already decode to a lower-resolution image. So a
// displayed image is fetched in two stages, the first `Range: bytes=0-N` (decoded at the
// resolution those bytes hold), then the rest (`bytes=N+1-`), appended, decoded in full. Frames
// of any other syntax are answered whole to a range request, which cornerstone takes as complete
// after the first stage. Prefetched images (cornerstone's stack prefetch reads the `default`
// options) are fetched whole: they are not on screen yet, and one request costs less than two.
// Volumes (MPR) keep cornerstone's interleaved order and get the same two stages where it asks
// for a fast (partial) then a final image.

import type { WarmupCornerstone } from "./decoderWarmup";
import type { DisplayedCornerstone, DisplayedViewport } from "./displayedRetry";
import type { RetryCornerstone, StackViewport } from "./prefetchRetry";
import type { RequestPool } from "./requestOrder";

export type FrameRetrieve = "progressive" | "whole";

export interface FrameConfig {
  /** "whole": OHIF's default, one (streamed) request per frame. */
  frames?: FrameRetrieve;
  /** Bytes of the first range. One number for every frame: cornerstone hands the retrieve
   * options to its decode worker, so they must be plain data (no function of the frame). */
  initialBytes?: number;
  /** "displayed-first" (default): thumbnails and prefetch wait while the displayed image is
   * fetched (requestOrder.ts); "ohif": cornerstone's own order, all types side by side. */
  order?: "displayed-first" | "ohif";
  /** true (default): the HTJ2K decoder is started in every decode worker when the mode starts
   * (decoderWarmup.ts); false: on the first HTJ2K frame, as cornerstone does. */
  warmDecoder?: boolean;
}

interface Stage {
  id: string;
  retrieveType?: string;
  [key: string]: unknown;
}

export interface RetrieveOptions {
  rangeIndex?: number;
  chunkSize?: number;
  [key: string]: unknown;
}

export interface RetrieveConfiguration {
  stages: Stage[];
  retrieveOptions: Record<string, RetrieveOptions>;
}

export interface RetrieveProvider {
  add(key: string, configuration: RetrieveConfiguration): void;
}

export interface CornerstoneLike {
  utilities?: { imageRetrieveMetadataProvider?: RetrieveProvider };
  imageLoadPoolManager?: RequestPool;
  getWebWorkerManager?: WarmupCornerstone["getWebWorkerManager"];
  eventTarget?: RetryCornerstone["eventTarget"] & DisplayedCornerstone["eventTarget"];
  Enums?: { Events?: { IMAGE_LOAD_FAILED?: string; IMAGE_LOAD_ERROR?: string } };
  getRenderingEngines?: () => { id?: string; getViewports(): (StackViewport & DisplayedViewport)[] }[];
  ProgressiveRetrieveImages?: { interleavedRetrieveStages?: { stages?: Stage[] } };
}

export const DEFAULT_INITIAL_BYTES = 64 * 1024;

export function initialBytes(config: FrameConfig = {}): number {
  const wanted = config.initialBytes;
  return typeof wanted === "number" && Number.isInteger(wanted) && wanted >= 1024 ? wanted : DEFAULT_INITIAL_BYTES;
}

export function stackRetrieve(config: FrameConfig = {}): RetrieveConfiguration | null {
  if (config.frames === "whole") return null;
  return {
    stages: [
      { id: "initialRange", retrieveType: "initialRange" },
      { id: "finalRange", retrieveType: "finalRange" },
    ],
    retrieveOptions: {
      default: {},
      initialRange: { rangeIndex: 0, chunkSize: initialBytes(config) },
      finalRange: { rangeIndex: -1 },
    },
  };
}

export function volumeRetrieve(
  config: FrameConfig,
  interleaved: Stage[] | undefined,
): RetrieveConfiguration | null {
  if (config.frames === "whole" || !interleaved?.length) return null;
  return {
    stages: interleaved,
    retrieveOptions: {
      default: {},
      multipleFast: { rangeIndex: 0, chunkSize: initialBytes(config) },
      multipleFinal: { rangeIndex: -1 },
    },
  };
}

/** Registers the configurations with cornerstone (after OHIF's own, which they replace). */
export function applyFrameRetrieve(cornerstone: CornerstoneLike | undefined, config: FrameConfig = {}): string[] {
  const provider = cornerstone?.utilities?.imageRetrieveMetadataProvider;
  if (!provider) throw new Error("NeuroNova mode: cornerstone's imageRetrieveMetadataProvider is missing");
  const applied: string[] = [];
  const stack = stackRetrieve(config);
  if (stack) {
    provider.add("stack", stack);
    applied.push("stack");
  }
  const volume = volumeRetrieve(config, cornerstone?.ProgressiveRetrieveImages?.interleavedRetrieveStages?.stages);
  if (volume) {
    provider.add("volume", volume);
    applied.push("volume");
  }
  return applied;
}
