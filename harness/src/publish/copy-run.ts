// A run's report into the site: report.html with its charts, report.md and the gate files.
// result.json and logs/ stay behind: megabytes per run at many streams, and no page links to them.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { renderReport } from '../report/render.js';
import type { RunResult } from '../result.js';

const COPIED = /^(report\.(html|md)|.+\.svg|benchmark(-[a-z-]+)?\.json|gate\.json|junit\.xml)$/;

/** Copies into target (created); a run without report.html gets one rendered there from its result. Returns whether it was rendered. */
export async function copyRunReport(source: string, target: string, result: RunResult): Promise<{ rendered: boolean }> {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (entry.isFile() && COPIED.test(entry.name)) copyFileSync(path.join(source, entry.name), path.join(target, entry.name));
  }
  if (existsSync(path.join(source, 'report.html'))) return { rendered: false };
  await renderReport(target, result, { index: false });
  return { rendered: true };
}
