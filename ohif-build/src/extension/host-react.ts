// The viewer's own React, taken from the host bundle's module loader (host-modules.ts). The
// prebuilt OHIF dist does not expose React, and a second copy would break hooks, so esbuild
// aliases `react` to this file.
// The rspack runtime runs a pushed chunk's third element with __webpack_require__; React is
// module 86326 in @ohif/app 3.13.2 (scripts/check-dist.mjs verifies that at build time). If the id
// ever moves, fall back to finding React by its licence banner, and fail loudly if that fails too.
import type * as ReactTypes from "react";
import { findHostModule, hostRequire, type ModuleRequire } from "./host-modules";

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
  const react = findHostModule(
    require, REACT_MODULE_ID, "React", ["react.production.min.js", "exports.createElement"],
    (exports) => (looksLikeReact(exports) ? exports : undefined),
  );
  if (!react) throw new Error("NeuroNova: the viewer's React was not found (pinned OHIF dist changed)");
  return react;
}

const React = findReact(hostRequire());
export default React;
export const {
  createElement, Fragment, useCallback, useEffect, useMemo, useRef, useState, useReducer, useContext,
} = React;
