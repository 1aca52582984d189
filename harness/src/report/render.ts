// Writes report.md, report.html and the charts (.svg) beside result.json, and results/index.html.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readResult, RESULTS_DIR, type RunResult } from '../result.js';
import { buildCharts } from './charts.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { readRuns, runIndexHtml } from './run-index.js';

/** index: also refresh the index of the folder holding dir (off where dir is not in a results folder, e.g. a published site). */
export async function renderReport(dir: string, result: RunResult = readResult(dir), { index = true } = {}): Promise<string[]> {
  const charts = await buildCharts(result);
  const written: string[] = [];
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    written.push(file);
  };
  for (const chart of charts) write(`${chart.id}.svg`, chart.svg);
  write('report.md', renderMarkdown(result, charts));
  write('report.html', renderHtml(result, charts));
  if (index) writeIndex(path.dirname(path.resolve(dir)));
  return written;
}

/** results/index.html: every run in the folder with its headline figures, newest first. */
export function writeIndex(resultsDir = RESULTS_DIR): string {
  const file = path.join(resultsDir, 'index.html');
  writeFileSync(file, runIndexHtml(readRuns(resultsDir), { title: 'MCR runs', reportHref: (run) => `${encodeURIComponent(run.dir)}/report.html` }));
  return file;
}
