// The list of runs as HTML: results/index.html (render.ts) and a published site's index.html
// (publish/site.ts) are both this page, with their own links.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readResult, type RunResult } from '../result.js';
import { escapeHtml, STYLE } from './html.js';

export interface IndexedRun {
  /** The run's directory name (normally its runId). */
  dir: string;
  result: RunResult;
  /** The verdict of gate.json, when the run was gated (it adds the regression checks). */
  gate?: 'pass' | 'fail';
}

/** Marks a page as this generator's, so a later publish may overwrite the directory holding it. */
export const GENERATOR = 'mcr run index';

/** gate.json's verdict in a run's directory, if it was gated. */
export function gateVerdict(dir: string): IndexedRun['gate'] {
  try {
    const verdict = (JSON.parse(readFileSync(path.join(dir, 'gate.json'), 'utf8')) as { verdict?: unknown }).verdict;
    return verdict === 'pass' || verdict === 'fail' ? verdict : undefined;
  } catch {
    return undefined;
  }
}

/** Every directory of resultsDir holding a readable result.json, newest first; the others are passed to onSkip. */
export function readRuns(resultsDir: string, onSkip: (dir: string, why: string) => void = () => {}): IndexedRun[] {
  return readdirSync(resultsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(resultsDir, d.name, 'result.json')))
    .flatMap((d) => {
      const dir = path.join(resultsDir, d.name);
      try {
        return [{ dir: d.name, result: readResult(dir), gate: gateVerdict(dir) }];
      } catch (err) {
        onSkip(d.name, (err as Error).message);
        return [];
      }
    })
    .sort((a, b) => b.result.startedAt.localeCompare(a.result.startedAt) || b.dir.localeCompare(a.dir));
}

/** "fac92de", "fac92de+" (built from a modified tree) or "unknown". */
export function shortCommit(result: RunResult): string {
  const { commit, dirty } = result.environment.git;
  return commit ? `${commit.slice(0, 7)}${dirty ? '+' : ''}` : 'unknown';
}

/** "2026-11-29 23:52:51" (UTC, as the run ids are). */
export function startedText(result: RunResult): string {
  return result.startedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

export interface IndexPage {
  title: string;
  /** Where the run's report is, relative to the page. */
  reportHref: (run: IndexedRun) => string;
  /** HTML placed above the table (e.g. links to trend pages). */
  preamble?: string;
}

export function runIndexHtml(runs: IndexedRun[], page: IndexPage): string {
  const verdict = (v: unknown) => (v ? `<td class="${escapeHtml(v)}">${escapeHtml(String(v).toUpperCase())}</td>` : '<td>-</td>');
  const rows = runs.map((run) => {
    const r = run.result;
    const relay = r.steps.flatMap((s) => s.runs.filter((x) => x.contender === 'relay' && x.aggregate));
    const worstLoss = relay.reduce((m, x) => Math.max(m, x.aggregate?.lossPct ?? 0), 0);
    const dups = relay.reduce((n, x) => n + (x.aggregate?.duplicates ?? 0), 0);
    const cells = [
      `<td><a href="${escapeHtml(page.reportHref(run))}">${escapeHtml(run.dir)}</a></td>`,
      `<td>${escapeHtml(r.scenario)}</td>`,
      `<td style="white-space:nowrap">${escapeHtml(startedText(r))}</td>`,
      `<td><code>${escapeHtml(shortCommit(r))}</code></td>`,
      verdict(r.verdict),
      verdict(run.gate),
      `<td>${escapeHtml(r.steps.length)}</td>`,
      `<td>${relay.length ? escapeHtml(worstLoss.toFixed(3)) : '-'}</td>`,
      `<td>${relay.length ? escapeHtml(dups) : '-'}</td>`,
    ];
    return `<tr data-run="${escapeHtml(run.dir)}">${cells.join('')}</tr>`;
  });
  const head = ['run', 'scenario', 'started (UTC)', 'commit', 'verdict', 'gate', 'steps', 'relay worst loss %', 'relay duplicates'].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="generator" content="${GENERATOR}"><title>${escapeHtml(page.title)}</title><style>${STYLE}</style></head><body>
<h1>${escapeHtml(page.title)}</h1>
${page.preamble ?? ''}
<p>${runs.length} run${runs.length === 1 ? '' : 's'}, newest first. Verdict: the run's own checks; gate: with the baseline regression, when the run was gated (<code>--gate</code> or <code>npm run gate</code>); commit <code>+</code>: built from a modified tree.</p>
<table id="runs">
<tr>${head}</tr>
${rows.join('\n')}
</table>
</body></html>
`;
}
