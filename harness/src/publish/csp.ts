// The Content-Security-Policy of every page the site writes. The pages are escaped already; this
// is the second wall: should a value ever slip through unescaped, the browser still runs no
// script (no script-src, so none inline, no handlers, no javascript: links), loads nothing (no
// images, frames, fonts or fetches) and submits nothing. Inline CSS and inline SVG still work.
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export const CSP_META = `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`;

const CHARSET = '<meta charset="utf-8">';

/** A page of ours with the policy placed right after its charset, before anything it could govern. */
export function withCsp(html: string): string {
  const at = html.indexOf(CHARSET);
  // Our own renderers write this head; a page without it is a bug to see, not to publish unguarded.
  if (at < 0 || at > html.indexOf('</head>')) throw new Error(`a page to publish has no ${CHARSET} in its head to place the Content-Security-Policy after`);
  return `${html.slice(0, at + CHARSET.length)}${CSP_META}${html.slice(at + CHARSET.length)}`;
}
