// A run's report into the site, made safe to publish: report.html, report.md and the charts are
// rendered afresh from result.json by this harness's renderer (every value escaped, the page
// under the site's Content-Security-Policy), never copied. A results folder is data from test
// machines: a copied report.html or .svg, or junit.xml (XML may carry XHTML script), would run
// whatever it holds, and a sandboxed frame would not help a reader who opens the file itself.
// Only the gate's JSON files are copied: a browser shows JSON as text, never runs it.
// result.json and logs/ stay behind: megabytes per run at many streams, and no page links to them.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { escapeHtml, STYLE } from '../report/html.js';
import { renderReport } from '../report/render.js';
import type { RunResult } from '../result.js';
import { withCsp } from './csp.js';

const COPIED = /^(benchmark(-[a-z-]+)?\.json|gate\.json)$/;

/** A report.html standing in for one the renderer could not make from this result. */
function unrenderable(dir: string, err: Error): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MCR run ${escapeHtml(dir)}: no report</title><style>${STYLE}</style></head><body>
<h1>Run ${escapeHtml(dir)}: no report</h1>
<p>Its result.json could not be rendered: <code>${escapeHtml(err.message)}</code></p>
</body></html>
`;
}

/** Renders the run's report into target (created) and copies its gate JSON files. Returns why the report could not be rendered, if it could not. */
export async function copyRunReport(source: string, target: string, result: RunResult): Promise<{ failed?: string }> {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (entry.isFile() && COPIED.test(entry.name)) copyFileSync(path.join(source, entry.name), path.join(target, entry.name));
  }
  const report = path.join(target, 'report.html');
  try {
    await renderReport(target, result, { index: false });
    writeFileSync(report, withCsp(readFileSync(report, 'utf8')));
    return {};
  } catch (err) {
    // A result.json too malformed to render (a field of the wrong type) costs its report, not the site.
    writeFileSync(report, withCsp(unrenderable(path.basename(target), err as Error)));
    return { failed: (err as Error).message };
  }
}
