// The viewer's own React, taken from the host bundle's module loader (host-modules.ts). The
// prebuilt OHIF dist does not expose React, and a second copy would break hooks, so esbuild
// aliases `react` to this file.
// The rspack runtime runs a pushed chunk's third element with __webpack_require__; React is
// module 86326 in @ohif/app 3.13.2 (scripts/check-dist.mjs verifies that at build time). If the id
// ever moves, fall back to finding React by its licence banner, and fail loudly if that fails too.
import type * as ReactTypes from "react";
import { hostRequire, type ModuleRequire } from "./host-modules";

export const REACT_MODULE_ID = 86326;

export function looksLikeReact(candidate: unknown): candidate is typeof ReactTypes {
  const value = candidate as Partial<typeof ReactTypes> | null;
  return (
    !!value &&
    typeof value.createElement === "function" &&
    typeof value.useState === "function" &&
    typeof value.useEffect === "function" &&
    typeof value.version === "string" &&
    value.version.startsWith("18.")
  );
}

export function findReact(require: ModuleRequire): typeof ReactTypes {
  try {
    const react = require(REACT_MODULE_ID);
    if (looksLikeReact(react)) return react;
  } catch {
    // fall through to the search
  }
  for (const [id, factory] of Object.entries(require.m ?? {})) {
    const source = String(factory);
    if (source.includes("react.production.min.js") && source.includes("exports.createElement")) {
      const react = require(id);
      if (looksLikeReact(react)) {
        console.warn(`NeuroNova: React found at module ${id}, not ${REACT_MODULE_ID}; update the pin`);
        return react;
      }
    }
  }
  throw new Error("NeuroNova: the viewer's React was not found (pinned OHIF dist changed)");
}

const React = findReact(hostRequire());
export default React;
export const {
  createElement, Fragment, useCallback, useEffect, useMemo, useRef, useState, useReducer, useContext,
} = React;
