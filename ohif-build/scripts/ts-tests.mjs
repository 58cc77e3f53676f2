// Runs the TypeScript unit tests of the extension and mode (src/__tests__) with node:test after
// bundling them with esbuild (no extra test framework; components render with react-dom/server).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const testDir = join(root, "src", "__tests__");
const out = mkdtempSync(join(tmpdir(), "nn-ohif-tests-"));
try {
  const entryPoints = readdirSync(testDir).filter((n) => /\.test\.tsx?$/.test(n)).map((n) => join(testDir, n));
  await esbuild.build({
    entryPoints, outdir: out, bundle: true, format: "esm", platform: "node", outExtension: { ".js": ".mjs" },
    logLevel: "warning", absWorkingDir: root,
    // react-dom/server (CommonJS) requires node built-ins; give the ESM bundle a real require.
    banner: { js: 'import { createRequire as __nnCreateRequire } from "node:module"; const require = __nnCreateRequire(import.meta.url);' },
  });
  const files = readdirSync(out).map((n) => join(out, n));
  const result = spawnSync(process.execPath, ["--test", ...files], { stdio: "inherit" });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
