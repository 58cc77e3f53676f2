// The NeuroNova mode: route `ai`, derived at runtime from OHIF's built-in @ohif/mode-basic (whose
// source is not on npm), with the AI panel and the segmentation panel on the right. The mode's
// `extensions` map is loaded by name/URL, so it names the built-ins plus our extension's URL.
// On entering, after OHIF's cornerstone extension registered its frame retrieve configuration,
// the mode replaces it with progressive byte-range loading (retrieve.ts; `neuronova.frames` in
// app-config.js), and makes the request pool fetch the displayed image before thumbnails and
// prefetch (requestOrder.ts; `neuronova.order`); it starts the HTJ2K decoder in the decode workers
// before any frame arrives (decoderWarmup.ts; `neuronova.warmDecoder`), asks again for stack
// images whose fetch failed (prefetchRetry.ts), and has a viewport ask again for the image it
// should show when that fetch failed (displayedRetry.ts), hiding OHIF's error notice for that
// failure once the image is shown.
import { warmDecoders } from "./decoderWarmup";
import { retryDisplayedImages, type Notices } from "./displayedRetry";
import { watchFrameStatus } from "./frameStatus";
import { retryFailedPrefetch, type RetryTools } from "./prefetchRetry";
import { interactionFirst } from "./requestOrder";
import { applyFrameRetrieve, type CornerstoneLike, type FrameConfig } from "./retrieve";

export const MODE_ID = "neuronova-ai";
const AI_PANEL = "neuronova.panelModule.ai";
const SEGMENTATION_PANEL = "@ohif/extension-cornerstone.panelModule.panelSegmentation";

interface Route {
  path: string;
  layoutTemplate: (this: Route) => unknown;
  layoutInstance: { id: string; props: Record<string, unknown> };
}

type ModeEnter = (
  args: {
    appConfig?: { neuronova?: FrameConfig };
    servicesManager?: { services?: { uiNotificationService?: Notices } };
  } & Record<string, unknown>,
) => void;

interface ModeInstance {
  id: string;
  onModeEnter?: ModeEnter;
  routeName: string;
  displayName: string;
  hide?: boolean;
  routes: Route[];
  extensions: Record<string, string>;
  [key: string]: unknown;
}

interface BasicMode {
  modeInstance: ModeInstance;
}

/** Our extension's URL: the one app-config.js lists (the build hashes it). */
function extensionUrl(): string {
  const config = (window as { config?: { extensions?: unknown[] } }).config;
  const url = config?.extensions?.find((entry) => typeof entry === "string" && entry.includes("/neuronova/extension."));
  if (typeof url !== "string") throw new Error("NeuroNova mode: extension URL missing from app-config.js");
  return url;
}

let retryInstalled = false;
let displayedRetryInstalled = false;

export function deriveMode(
  basic: ModeInstance,
  extension: string,
  cornerstone: () => CornerstoneLike | undefined = () => (window as { cornerstone?: CornerstoneLike }).cornerstone,
  tools: () => RetryTools | undefined = () => (globalThis as { cornerstoneTools?: RetryTools }).cornerstoneTools,
): ModeInstance {
  const [route] = basic.routes;
  if (!route?.layoutInstance?.props) throw new Error("NeuroNova mode: @ohif/mode-basic shape changed");
  const layoutInstance = {
    ...route.layoutInstance,
    props: {
      ...route.layoutInstance.props,
      rightPanels: [AI_PANEL, SEGMENTATION_PANEL],
      rightPanelClosed: false,
    },
  };
  return {
    ...basic,
    id: MODE_ID,
    routeName: "ai",
    displayName: "NeuroNova AI",
    hide: false,
    routes: [{ ...route, path: "ai", layoutInstance }],
    extensions: { ...basic.extensions, [extension]: "^1.0.0" },
    onModeEnter(args) {
      basic.onModeEnter?.call(this, args);
      const config = args.appConfig?.neuronova ?? {};
      if (config.warmDecoder !== false) void warmDecoders(cornerstone());
      applyFrameRetrieve(cornerstone(), config);
      if (config.order !== "ohif") interactionFirst(cornerstone()?.imageLoadPoolManager);
      if (!retryInstalled) retryInstalled = retryFailedPrefetch(cornerstone(), tools());
      if (!displayedRetryInstalled) {
        const notices = args.servicesManager?.services?.uiNotificationService;
        displayedRetryInstalled = retryDisplayedImages(cornerstone(), { notices, statusOf: watchFrameStatus() });
      }
    },
  };
}

const mode = {
  id: MODE_ID,
  async modeFactory({ loadModules }: { loadModules: (names: string[]) => Promise<BasicMode[]> }) {
    const [basic] = await loadModules(["@ohif/mode-basic"]);
    return deriveMode(basic.modeInstance, extensionUrl());
  },
};

export default mode;
