import assert from "node:assert/strict";
import { test } from "node:test";
import { rebaseCss, rebaseIndexHtml, rebaseJs } from "./rebase.mjs";

test("rebaseJs rewrites every rspack public path and counts them", () => {
  const [out, count] = rebaseJs('a;__webpack_require__.p = "/";b;__webpack_require__.p = "/";', "/pacs-viewer/");
  assert.equal(count, 2);
  assert.equal(out, 'a;__webpack_require__.p = "/pacs-viewer/";b;__webpack_require__.p = "/pacs-viewer/";');
  assert.equal(rebaseJs('x.p=""', "/v/")[1], 0);
});

test("rebaseCss rewrites root urls but not protocol-relative or data urls", () => {
  const [out, count] = rebaseCss('src:url(/a.woff2) url("/b.png") url(//cdn/x) url(data:x)', "/v/");
  assert.equal(count, 2);
  assert.equal(out, 'src:url(/v/a.woff2) url("/v/b.png") url(//cdn/x) url(data:x)');
});

test("rebaseIndexHtml moves inline scripts out, drops the service worker and rebases links", () => {
  const html =
    '<html><head><script>window.PUBLIC_URL="/"</script><link rel="manifest" href="/manifest.json">' +
    '<link href="/app.bundle.css" rel="stylesheet"><script src="/app-config.js"></script>' +
    '<script type="module" src="/init-service-worker.js"></script>' +
    '<script>function browserImportFunction(n){return import(n)}window.PUBLIC_URL="/"</script>' +
    '<script defer src="/app.bundle.1.js"></script></head><body><a href="//x.org/">x</a></body></html>';
  const { html: out, boot } = rebaseIndexHtml(html, "/v/", { bootSrc: "boot.1.js", cssHref: "app.bundle.2.css" });
  assert.ok(out.startsWith('<html><head><script src="/v/boot.1.js"></script>'));
  assert.ok(out.includes('src="/v/app-config.js"'));
  assert.ok(out.includes('src="/v/app.bundle.1.js"'));
  assert.ok(out.includes('href="/v/app.bundle.2.css"'));
  assert.ok(out.includes('href="//x.org/"'));
  assert.ok(!out.includes("init-service-worker"));
  assert.ok(!out.includes("manifest"));
  assert.ok(!/<script>[^<]/.test(out), "no inline script left");
  assert.match(boot, /window\.PUBLIC_URL="\/v\/"/);
  assert.match(boot, /function browserImportFunction/);
});

test("rebaseIndexHtml fails loudly when the inline boot scripts are gone", () => {
  assert.throws(() => rebaseIndexHtml("<head></head>", "/v/", { bootSrc: "b.js" }), /dist changed/);
});
