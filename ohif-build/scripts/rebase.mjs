// Pure text transforms that move the prebuilt OHIF dist from the site root to a sub-path.
// The dist is built for "/" (rspack public path, absolute src/href in index.html, url(/…) in
// CSS, window.PUBLIC_URL); every rewrite here is counted so the build can fail when the pinned
// dist no longer contains what we expect to rewrite.

export const PUBLIC_PATH_JS = '__webpack_require__.p = "/";';

/** Rewrites the rspack public path in one JS chunk. Returns [text, count]. */
export function rebaseJs(text, base) {
  let count = 0;
  const out = text.split(PUBLIC_PATH_JS).join(`__webpack_require__.p = ${JSON.stringify(base)};`);
  count = text.split(PUBLIC_PATH_JS).length - 1;
  return [out, count];
}

/** Rewrites root-relative url(/…) references in CSS. */
export function rebaseCss(text, base) {
  let count = 0;
  const out = text.replace(/url\(\s*(["']?)\/(?!\/)/g, (_match, quote) => {
    count += 1;
    return `url(${quote}${base}`;
  });
  return [out, count];
}

/**
 * index.html: root-relative src/href become base-relative, the service-worker bootstrap goes,
 * and the inline scripts move to an external boot file so a strict CSP needs no 'unsafe-inline'.
 * Returns {html, boot} where boot is the JavaScript the inline scripts ran.
 */
export function rebaseIndexHtml(html, base, { bootSrc, cssHref }) {
  const boot = [];
  let out = html.replace(/<script([^>]*)>([\s\S]*?)<\/script>/g, (whole, attrs, body) => {
    if (/init-service-worker\.js/.test(attrs)) return "";
    if (!/\ssrc=/.test(attrs) && body.trim()) {
      boot.push(body.trim().replace(/window\.PUBLIC_URL\s*=\s*"\/"/g, `window.PUBLIC_URL=${JSON.stringify(base)}`));
      return "";
    }
    return whole;
  });
  if (boot.length === 0) throw new Error("index.html: no inline boot scripts found (dist changed?)");
  out = out.replace(/\s(src|href)="\/(?!\/)/g, (_m, attr) => ` ${attr}="${base}`);
  if (cssHref) out = out.replace(`href="${base}app.bundle.css"`, `href="${base}${cssHref}"`);
  // Boot script first: it defines PUBLIC_URL and browserImportFunction before app-config runs.
  out = out.replace("<head>", `<head><script src="${base}${bootSrc}"></script>`);
  out = out.replace(/<link rel="manifest"[^>]*>/, "");
  return { html: out, boot: `${boot.join(";\n")};\n` };
}
