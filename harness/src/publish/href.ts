// Links between the site's pages: relative, every segment percent-encoded. A run directory is
// named by whoever made the results folder; encoded, a name like `javascript:...` or `"><x` is
// only a path segment (':' '"' '<' become %3A %22 %3C), never a scheme or the end of an attribute.

/** "runs", "a b", "report.html" -> "runs/a%20b/report.html"; ".." stays "..". Escape it as any value when put in an attribute. */
export function siteHref(...segments: string[]): string {
  return segments.map((s) => (s === '..' ? s : encodeURIComponent(s))).join('/');
}
