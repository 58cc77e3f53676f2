// Builds ohif-build/dist: the pinned prebuilt @ohif/app dist, verified by its registry integrity,
// checked for the internals we rely on, trimmed, rebased to /pacs-viewer/, plus the NeuroNova
// extension and mode (bundled with esbuild against the host's React) and our app-config.js.
//
// Why not a normal npm dependency: @ohif/app@3.13.2 declares @ohif/i18n@3.13.2 etc., which are not
// on the registry, so `npm install @ohif/app` cannot resolve. We take only its tarball with
// `npm pack` (npm's cache, registry only) and pin its sha512 in package.json ("ohif.integrity").
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync,
} from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { constants as zlibConstants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { checkDist } from "./check-dist.mjs";
import { rebaseCss, rebaseIndexHtml, rebaseJs } from "./rebase.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const { package: ohifPackage, version, integrity, basePath, drop } = pkg.ohif;
const cacheDir = join(root, ".cache");
const outDir = join(root, "dist");

function fail(message) {
  console.error(`\nohif-build FAILED: ${message}\n`);
  process.exit(1);
}

function sha512(path) {
  return `sha512-${createHash("sha512").update(readFileSync(path)).digest("base64")}`;
}

function fetchTarball() {
  mkdirSync(cacheDir, { recursive: true });
  const tarball = join(cacheDir, `ohif-app-${version}.tgz`);
  if (!existsSync(tarball) || sha512(tarball) !== integrity) {
    rmSync(tarball, { force: true });
    execFileSync("npm", ["pack", `${ohifPackage}@${version}`, "--pack-destination", cacheDir, "--silent"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const actual = sha512(tarball);
  if (actual !== integrity) fail(`${ohifPackage}@${version} integrity ${actual} != pinned ${integrity}`);
  return tarball;
}

function extract(tarball) {
  const dir = join(cacheDir, `ohif-app-${version}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", dir, "package/dist"]);
  return join(dir, "package", "dist");
}

function shortHash(text) {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function rebaseTree(dir) {
  let jsCount = 0;
  let cssCount = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith(".js")) {
      const [text, count] = rebaseJs(readFileSync(path, "utf8"), basePath);
      if (count) writeFileSync(path, text);
      jsCount += count;
    } else if (name.endsWith(".css")) {
      const [text, count] = rebaseCss(readFileSync(path, "utf8"), basePath);
      if (count) writeFileSync(path, text);
      cssCount += count;
    }
  }
  if (jsCount === 0 || cssCount === 0) fail(`rebase found nothing to rewrite (js ${jsCount}, css ${cssCount})`);
  // The entry stylesheet has no hash in its name; give it one so it can be cached for good.
  const css = readFileSync(join(dir, "app.bundle.css"), "utf8");
  const cssName = `app.bundle.${shortHash(css)}.css`;
  renameSync(join(dir, "app.bundle.css"), join(dir, cssName));
  return { jsCount, cssCount, cssName };
}

async function bundleNeuroNova() {
  const result = await esbuild.build({
    entryPoints: {
      extension: join(root, "src/extension/index.tsx"),
      mode: join(root, "src/mode/index.ts"),
    },
    outdir: join(outDir, "neuronova"),
    entryNames: "[name]",
    bundle: true,
    format: "esm",
    target: "es2020",
    minify: true,
    metafile: true,
    legalComments: "none",
    jsx: "transform",
    jsxFactory: "React.createElement",
    jsxFragment: "React.Fragment",
    // The panel must use the viewer's own React instance (a second copy breaks hooks).
    alias: { react: join(root, "src/extension/host-react.ts") },
    logLevel: "warning",
    absWorkingDir: root,
  });
  // Hex content hashes, like rspack's chunk names, so one nginx rule caches every hashed file.
  const urls = {};
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const file = join(root, output);
    const name = basename(file, ".js");
    const hashed = `${name}.${shortHash(readFileSync(file, "utf8"))}.js`;
    renameSync(file, join(dirname(file), hashed));
    urls[name] = `${basePath}neuronova/${hashed}`;
  }
  if (!urls.extension || !urls.mode) fail("esbuild produced no extension/mode entry");
  return urls;
}

// nginx serves these precompressed (gzip_static): the viewer is ~48 MB as files, ~10 MB gzipped,
// and Chromium keeps a multi-megabyte response in a memory-backed HTTP cache only when it is
// small enough, so the 17 MB main bundle was fetched again on every open (docs/web.md, "The 14 s
// cached open").
const COMPRESSIBLE = new Set([".js", ".css", ".wasm", ".json", ".html", ".svg", ".txt", ".woff", ".ttf"]);

// Chromium's memory-backed HTTP cache (incognito and other off-the-record profiles, Playwright's
// browser contexts) does not keep an entry larger than an eighth of its size (at most 50 MB):
// measured, a 17.4 MB body was fetched again on every open, 3.3 MB and 2.3 MB ones were kept.
// The build fails rather than ship a file that would be downloaded on every open again.
const MAX_SERVED_BYTES = 6_000_000;

function oversized(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      found.push(...oversized(path));
      continue;
    }
    if (entry.name.endsWith(".gz")) continue;
    let size = statSync(path).size;
    if (existsSync(`${path}.gz`)) size = statSync(`${path}.gz`).size;
    if (size > MAX_SERVED_BYTES) found.push(`${path.slice(dir.length + 1)} (${size} bytes as served)`);
  }
  return found;
}

function precompress(dir) {
  let files = 0;
  let before = 0;
  let after = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = precompress(path);
      files += sub.files;
      before += sub.before;
      after += sub.after;
      continue;
    }
    if (!COMPRESSIBLE.has(extname(entry.name))) continue;
    const data = readFileSync(path);
    if (data.length < 1024) continue;
    const gz = gzipSync(data, { level: zlibConstants.Z_BEST_COMPRESSION });
    if (gz.length >= data.length) continue;
    writeFileSync(`${path}.gz`, gz);
    files += 1;
    before += data.length;
    after += gz.length;
  }
  return { files, before, after };
}

async function main() {
  const tarball = fetchTarball();
  const upstream = extract(tarball);
  const failures = checkDist(upstream);
  if (failures.length) fail(`pinned dist internals changed:\n  - ${failures.join("\n  - ")}`);

  rmSync(outDir, { recursive: true, force: true });
  const dropped = new Set(drop);
  cpSync(upstream, outDir, {
    recursive: true,
    filter: (source) => !dropped.has(source.slice(upstream.length + 1).split("/")[0]),
  });
  const { jsCount, cssCount, cssName } = rebaseTree(outDir);

  const urls = await bundleNeuroNova();
  const bootDraft = rebaseIndexHtml(readFileSync(join(outDir, "index.html"), "utf8"), basePath, {
    bootSrc: "boot.js",
    cssHref: cssName,
  });
  const bootName = `boot.${shortHash(bootDraft.boot)}.js`;
  const { html } = rebaseIndexHtml(readFileSync(join(outDir, "index.html"), "utf8"), basePath, {
    bootSrc: bootName,
    cssHref: cssName,
  });
  writeFileSync(join(outDir, bootName), bootDraft.boot);
  writeFileSync(join(outDir, "index.html"), html);

  const template = readFileSync(join(root, "config/app-config.js"), "utf8");
  const config = template
    .replaceAll("__NEURONOVA_EXTENSION_URL__", urls.extension)
    .replaceAll("__NEURONOVA_MODE_URL__", urls.mode)
    .replaceAll("__BASE_PATH__", basePath.replace(/\/$/, ""));
  if (/__[A-Z_]+__/.test(config)) fail("app-config.js has an unreplaced placeholder");
  writeFileSync(join(outDir, "app-config.js"), config);

  const after = checkDist(outDir, { rebased: true });
  if (after.length) fail(`built dist check:\n  - ${after.join("\n  - ")}`);
  const gz = precompress(outDir);
  const tooLarge = oversized(outDir);
  if (tooLarge.length) fail(`files too large for a browser's memory cache:\n  - ${tooLarge.join("\n  - ")}`);
  writeFileSync(
    join(outDir, "neuronova", "build-info.json"),
    `${JSON.stringify({ ohif: `${ohifPackage}@${version}`, integrity, basePath, ...urls, boot: bootName, css: cssName }, null, 2)}\n`,
  );
  console.log(
    `ohif-build: ${ohifPackage}@${version} -> dist/ at ${basePath} (rebased ${jsCount} js, ${cssCount} css refs; ` +
      `dropped ${drop.join(", ")}); extension ${urls.extension}, mode ${urls.mode}; ` +
      `gzip beside ${gz.files} files (${(gz.before / 1e6).toFixed(1)} MB -> ${(gz.after / 1e6).toFixed(1)} MB)`,
  );
}

await main();
