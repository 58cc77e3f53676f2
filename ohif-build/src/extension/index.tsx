// The NeuroNova OHIF extension: the AI panel, plus the access check that runs before a study
// loads (401 -> portal login, 403/404 -> access error). Loaded at runtime by URL from
// app-config.js; React is the host's (see host-react.ts).
import React from "react";
import { checkAccess, refreshSession, showAccessError, startSessionKeepAlive } from "./access";
import { AiPanel, type ExtensionManagerLike } from "./AiPanel";
import { currentLanguage, messages } from "./i18n";
import { compareProtocol, COMPARE_PROTOCOL_ID, registerCompareAttributes } from "./compare";
import { repointSegs, type Commands, type DisplaySet, type Services } from "./overlay";

export const EXTENSION_ID = "neuronova";

interface ExtensionParams {
  servicesManager: { services: Services };
  commandsManager: Commands;
  extensionManager?: ExtensionManagerLike;
}

type HangingProtocolService = Parameters<typeof registerCompareAttributes>[0];

interface DisplaySetEvents {
  EVENTS?: { DISPLAY_SETS_ADDED?: string };
  subscribe?: (event: string, callback: (data: { displaySetsAdded?: DisplaySet[] }) => void) => unknown;
  getActiveDisplaySets: () => DisplaySet[];
}

const extension = {
  id: EXTENSION_ID,
  version: "1.0.0",
  preRegistration({ servicesManager }: ExtensionParams) {
    const services = servicesManager.services as Services & { hangingProtocolService?: HangingProtocolService };
    registerCompareAttributes(services.hangingProtocolService, () => services.displaySetService.getActiveDisplaySets());
    // Each SEG on the series it names first (overlay.ts, repointSegs), whenever display sets come.
    const displaySets = services.displaySetService as DisplaySetEvents;
    const added = displaySets.EVENTS?.DISPLAY_SETS_ADDED;
    if (added && displaySets.subscribe) {
      displaySets.subscribe(added, ({ displaySetsAdded }) => {
        const fixed = repointSegs(displaySetsAdded ?? [], displaySets.getActiveDisplaySets());
        if (fixed.length) console.info("NeuroNova: SEG display sets put on their source series", fixed.map((ds) => ds.SeriesInstanceUID));
      });
    } else {
      console.warn("NeuroNova: displaySetService has no DISPLAY_SETS_ADDED; SEGs keep OHIF's referenced display set");
    }
    (window as { __neuronovaAccessDenied?: () => void }).__neuronovaAccessDenied = () =>
      showAccessError(messages(currentLanguage()).accessDenied);
    // app-config.js's httpErrorHandler calls this on a 401: rotate the session if the refresh
    // cookie is still good (then reload to retry), otherwise go to the portal login.
    (window as { __neuronovaUnauthorized?: () => void }).__neuronovaUnauthorized = () => {
      void refreshSession().then((ok) => {
        const w = window as { __neuronovaToPortalLogin?: () => void };
        if (ok) window.location.reload();
        else w.__neuronovaToPortalLogin?.();
      });
    };
    startSessionKeepAlive();
    void checkAccess().catch((error: unknown) => console.error("NeuroNova access check failed", error));
  },
  getHangingProtocolModule() {
    return [{ name: COMPARE_PROTOCOL_ID, protocol: compareProtocol }];
  },
  getPanelModule({ servicesManager, commandsManager, extensionManager }: ExtensionParams) {
    const Panel = () => (
      <AiPanel services={servicesManager.services} commands={commandsManager} extensionManager={extensionManager} />
    );
    return [
      {
        name: "ai",
        iconName: "tab-segmentation",
        iconLabel: "AI",
        label: messages(currentLanguage()).title,
        component: Panel,
      },
    ];
  },
};

export default extension;
