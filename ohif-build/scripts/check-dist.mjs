// Fails loudly when the pinned OHIF dist no longer has the internals the NeuroNova extension,
// mode and build rely on. Run on the upstream dist (build does) or on ohif-build/dist:
//   node scripts/check-dist.mjs [distDir]
// Each expectation names what breaks if it is gone.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REACT_MODULE_ID = 86326;
export const OHIF_CORE_MODULE_ID = 50679;

export const EXPECTATIONS = [
  {
    what: "rspack chunk-loading global (host module loader for the extension)",
    file: "app",
    pattern: /var chunkLoadingGlobal = globalThis\["rspackChunk"\]/,
  },
  {
    what: "JSONP callback runs a pushed chunk's runtime with __webpack_require__",
    file: "app",
    pattern: /if \(runtime\) var result = runtime\(__webpack_require__\);/,
  },
  {
    what: `React is module ${REACT_MODULE_ID} (re-exporting react.production.min.js)`,
    file: "app",
    pattern: new RegExp(
      `\\n${REACT_MODULE_ID}\\(module, __unused_rspack_exports, __webpack_require__\\) \\{\\n"use strict";\\n+if \\(true\\) \\{\\n  module\\.exports = __webpack_require__\\((\\d+)\\);`,
    ),
    follow: (match, text) => {
      const target = match[1];
      const start = text.indexOf(`\n${target}(__unused_rspack_module, exports) {`);
      const head = start >= 0 ? text.slice(start, start + 400) : "";
      return /@license React\s*\n \* react\.production\.min\.js/.test(head)
        ? null
        : `module ${target} is not React's production build`;
    },
  },
  {
    what: `@ohif/core is module ${OHIF_CORE_MODULE_ID} and exports DicomMetadataStore (a saved edit shown without a reload)`,
    file: "app",
    pattern: new RegExp(
      `\\n${OHIF_CORE_MODULE_ID}\\(__unused_rspack_module, __webpack_exports__, __webpack_require__\\) \\{\\n"use strict";\\n+// EXPORTS\\n` +
        `__webpack_require__\\.d\\(__webpack_exports__, \\{[^}]*: \\(\\) => \\(/\\* reexport \\*/ services_DicomMetadataStore\\)`,
    ),
  },
  {
    what: "the route makes display sets of instances added to DicomMetadataStore (INSTANCES_ADDED)",
    file: "app",
    pattern: /DicomMetadataStore\.EVENTS\.INSTANCES_ADDED \*\/\.H8\.EVENTS\.INSTANCES_ADDED, function \(\{[\s\S]{0,1500}displaySetService\.makeDisplaySets\(seriesMetadata\.instances, \{\s*madeInClient\s*\}\);/,
  },
  {
    what: "DicomMetadataStore's INSTANCES_ADDED event name (host-modules.ts finds the store by it)",
    file: "app",
    pattern: /INSTANCES_ADDED: 'event::dicomMetadataStore:instancesAdded'/,
  },
  {
    what: "unknown extension/mode names are loaded with a native import() of the URL",
    file: "app",
    pattern: /return \(await window\.browserImportFunction\(module\)\)\.default;/,
  },
  {
    what: "built-in @ohif/mode-basic can be loaded by name (our mode derives from it)",
    file: "app",
    pattern: /if \(module === "@ohif\/mode-basic"\)/,
  },
  {
    what: "modeFactory receives loadModules",
    file: "app",
    pattern: /mode = await mode\.modeFactory\(\{\s*modeConfiguration,\s*loadModules: importItems/,
  },
  {
    what: "appConfig.httpErrorHandler receives HTTP errors (401 -> portal login)",
    file: "app",
    pattern: /getHTTPErrorHandler = \(\) => \{\s*if \(typeof appConfig\.httpErrorHandler === 'function'\)/,
  },
  {
    what: "routerBasename / PUBLIC_URL drive routing under a sub-path",
    file: "app",
    pattern: /appConfig\.routerBasename \|\|= publicUrl;/,
  },
  {
    what: "rspack public path to rebase",
    file: "app",
    pattern: /__webpack_require__\.p = "\/";/,
    rebasedPattern: /__webpack_require__\.p = "\/pacs-viewer\/";/,
  },
  {
    what: "mode-basic shape: modeInstance with routes, layoutInstance, right panels",
    file: /^6749\.bundle\.[0-9a-f]+\.js$/,
    pattern: /const basicRoute = \{\s*path: 'basic',\s*layoutTemplate,\s*layoutInstance: basicLayout\s*\};[\s\S]*modeInstance: \{\s*\.\.\.src_modeInstance,/,
  },
  {
    what: "panel and layout ids used by the NeuroNova mode",
    file: /^6749\.bundle\.[0-9a-f]+\.js$/,
    pattern: /'@ohif\/extension-cornerstone\.panelModule\.panelSegmentation'[\s\S]*'@ohif\/extension-default\.layoutTemplateModule\.viewerLayout'|'@ohif\/extension-default\.layoutTemplateModule\.viewerLayout'[\s\S]*'@ohif\/extension-cornerstone\.panelModule\.panelSegmentation'/,
  },
  {
    what: "hydrateSecondaryDisplaySet command (AI overlay: SEG onto its source series)",
    file: /^89\.bundle\.[0-9a-f]+\.js$/,
    pattern: /hydrateSecondaryDisplaySet: async \(\{\s*displaySet,\s*viewportId\s*\}\) =>/,
  },
  {
    what: "segmentationService.removeRepresentationsFromViewport (hide AI overlay)",
    file: /^89\.bundle\.[0-9a-f]+\.js$/,
    pattern: /removeRepresentationsFromViewport\(viewportId, specifier = \{\}\)/,
  },
];

function pickFile(names, selector) {
  const regex = selector === "app" ? /^app\.bundle\.[0-9a-f]+\.js$/ : selector;
  const found = names.filter((name) => regex.test(name));
  if (found.length !== 1) throw new Error(`expected one file matching ${regex}, found ${found.length}`);
  return found[0];
}

/** Returns a list of failures (empty when the dist is as expected). */
export function checkDist(dir, { rebased = false } = {}) {
  const names = readdirSync(dir);
  const cache = new Map();
  const failures = [];
  for (const expectation of EXPECTATIONS) {
    let name;
    try {
      name = pickFile(names, expectation.file);
    } catch (error) {
      failures.push(`${expectation.what}: ${error.message}`);
      continue;
    }
    if (!cache.has(name)) cache.set(name, readFileSync(join(dir, name), "utf8"));
    const text = cache.get(name);
    const pattern = rebased && expectation.rebasedPattern ? expectation.rebasedPattern : expectation.pattern;
    const match = pattern.exec(text);
    if (!match) {
      failures.push(`${expectation.what}: not found in ${name}`);
      continue;
    }
    const problem = expectation.follow?.(match, text);
    if (problem) failures.push(`${expectation.what}: ${problem}`);
  }
  return failures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL("../dist", import.meta.url));
  const failures = checkDist(dir, { rebased: dir.replace(/\/$/, "").endsWith("ohif-build/dist") });
  if (failures.length) {
    console.error(`OHIF dist check FAILED for ${dir} — the pinned dist changed under us:`);
    for (const failure of failures) console.error(`  - ${failure}`);
    process.exit(1);
  }
  console.log(`OHIF dist check passed (${EXPECTATIONS.length} expectations) for ${dir}`);
}
