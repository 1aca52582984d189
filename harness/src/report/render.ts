// Writes report.md, report.html and the charts (.svg) beside result.json, and results/index.html.
import { readdirSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readResult, RESULTS_DIR, type RunResult } from '../result.js';
import { buildCharts } from './charts.js';
import { escapeHtml, htmlTable, renderHtml, STYLE } from './html.js';
import { renderMarkdown } from './markdown.js';

export async function renderReport(dir: string, result: RunResult = readResult(dir)): Promise<string[]> {
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
  writeIndex(path.dirname(path.resolve(dir)));
  return written;
}

/** results/index.html: every run in the folder with its headline figures, newest first. */
export function writeIndex(resultsDir = RESULTS_DIR): string {
  const runs = readdirSync(resultsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(resultsDir, d.name, 'result.json')))
    .flatMap((d) => {
      try {
        return [readResult(path.join(resultsDir, d.name))];
      } catch {
        return [];
      }
    })
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const rows = runs.map((r) => {
    const relay = r.steps.flatMap((s) => s.runs.filter((x) => x.contender === 'relay' && x.aggregate));
    const worstLoss = relay.reduce((m, x) => Math.max(m, x.aggregate?.lossPct ?? 0), 0);
    const dups = relay.reduce((n, x) => n + (x.aggregate?.duplicates ?? 0), 0);
    return [r.runId, r.scenario, r.startedAt, r.verdict.toUpperCase(), `${r.steps.length}`, worstLoss.toFixed(3), String(dups)];
  });
  const table = htmlTable(['run', 'scenario', 'started', 'verdict', 'steps', 'relay worst loss %', 'relay duplicates'], rows);
  const linked = runs.reduce((html, r) => html.replace(`<td>${escapeHtml(r.runId)}</td>`, `<td><a href="${encodeURI(r.runId)}/report.html">${escapeHtml(r.runId)}</a></td>`), table);
  const file = path.join(resultsDir, 'index.html');
  writeFileSync(file, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MCR runs</title><style>${STYLE}</style></head><body><h1>MCR runs</h1>${linked}</body></html>\n`);
  return file;
}
