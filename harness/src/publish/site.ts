// The published results site: index.html (every run), runs/<run>/ (each report) and
// trends/<scenario>.html (the gated figures across runs). Static files only: it opens from file://.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Progress } from '../progress.js';
import { GENERATOR, runIndexHtml, type IndexedRun } from '../report/run-index.js';
import { escapeHtml } from '../report/html.js';
import { copyRunReport } from './copy-run.js';
import { withCsp } from './csp.js';
import { siteHref } from './href.js';
import { trendFileName } from './file-name.js';
import { printable } from './printable.js';
import { runBenchmark } from './run-benchmark.js';
import { readPublishableRuns } from './runs.js';
import { groupByLoad } from './loads.js';
import type { TrendRun } from './trend-data.js';
import { trendPageHtml } from './trend-page.js';

/** Input the command refuses (exit 2), with what to do instead. */
export class PublishInputError extends Error {}

export interface PublishOptions {
  from: string;
  out: string;
  quiet?: boolean;
}

export interface Published {
  index: string;
  runs: number;
  trendPages: string[];
}

/** Refuses an output that would land in a run, replace the results' own index, or clobber unrelated files. */
function checkOutput(from: string, out: string): void {
  if (path.resolve(out) === path.resolve(from)) throw new PublishInputError(`OUT_DIR is the results directory itself (${from}): its index.html belongs to npm run report; publish to a directory of its own, e.g. site/`);
  for (let dir = path.resolve(out); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'result.json'))) throw new PublishInputError(`OUT_DIR ${out} is inside the run directory ${dir}: publish to a directory of its own, e.g. site/`);
    if (dir === path.dirname(dir)) break;
  }
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new PublishInputError(`OUT_DIR ${out} exists and is not a directory`);
  if (readdirSync(out).length === 0) return;
  const index = path.join(out, 'index.html');
  const published = existsSync(index) && readFileSync(index, 'utf8').includes(`<meta name="generator" content="${GENERATOR}">`) && existsSync(path.join(out, 'runs'));
  if (!published) throw new PublishInputError(`OUT_DIR ${out} is not empty and holds no site published before: choose a new or empty directory`);
}

export async function publishSite({ from, out, quiet = false }: PublishOptions): Promise<Published> {
  if (!existsSync(from) || !statSync(from).isDirectory()) throw new PublishInputError(`no results directory at ${from} (--from names the folder holding results/<run-id>/ directories)`);
  checkOutput(from, out);
  const say = (line: string) => quiet || process.stderr.write(`${printable(line)}\n`);
  const runs = readPublishableRuns(from, (dir, why) => say(`skipping ${dir}: ${why}`));
  if (runs.length === 0) throw new PublishInputError(`no runs in ${from}: no directory there holds a readable result.json (run a scenario first, or point --from at another results folder)`);

  const scenarios = [...new Set(runs.map((r) => r.result.scenario))].sort();
  say(`publishing ${runs.length} run${runs.length === 1 ? '' : 's'} of ${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'} from ${from} to ${out}…`);
  // A site published before is rebuilt whole: runs since deleted from the results go too.
  rmSync(path.join(out, 'runs'), { recursive: true, force: true });
  rmSync(path.join(out, 'trends'), { recursive: true, force: true });
  mkdirSync(path.join(out, 'trends'), { recursive: true });
  // Served by GitHub Pages, the site is taken as it is: without this, Jekyll would turn each
  // report.md into HTML (its optional-front-matter plugin), raw markup from result.json and all.
  writeFileSync(path.join(out, '.nojekyll'), '');

  const progress = new Progress(runs.length + scenarios.length, quiet);
  const trendRuns: TrendRun[] = [];
  for (const run of runs) {
    progress.update(printable(`copying ${run.dir}`));
    const { failed } = await copyRunReport(path.join(from, run.dir), path.join(out, 'runs', run.dir), run.result);
    if (failed) progress.note(printable(`${run.dir}: no report: its result.json could not be rendered (${failed})`));
    const bench = runBenchmark(path.join(from, run.dir), run.result);
    if (bench.note) progress.note(printable(`${run.dir}: ${bench.note}`));
    trendRuns.push({ dir: run.dir, result: run.result, entries: bench.entries, source: bench.source });
    progress.tick();
  }

  const trendPages: string[] = [];
  const trendLinks: string[] = [];
  for (const scenario of scenarios) {
    progress.update(printable(`trends of ${scenario}`));
    const own = trendRuns.filter((r) => r.result.scenario === scenario);
    const loads = groupByLoad(own);
    const file = path.join(out, 'trends', trendFileName(scenario));
    writeFileSync(file, await trendPageHtml(scenario, own, {
      index: '../index.html',
      report: (run) => siteHref('..', 'runs', run.dir, 'report.html'),
    }));
    trendPages.push(file);
    trendLinks.push(`<li><a href="${escapeHtml(siteHref('trends', trendFileName(scenario)))}">${escapeHtml(scenario)}</a>: ${own.length} run${own.length === 1 ? '' : 's'} under ${loads.length} load${loads.length === 1 ? '' : 's'} (the most runs under one: ${loads[0].runs.length})</li>`);
    progress.tick();
  }
  progress.finish();

  const index = path.join(out, 'index.html');
  writeFileSync(index, withCsp(runIndexHtml(runs, {
    title: 'MCR published results',
    reportHref: (run: IndexedRun) => siteHref('runs', run.dir, 'report.html'),
    preamble: `<h2>Trends across runs</h2>\n<ul id="trends">\n${trendLinks.join('\n')}\n</ul>\n<h2>Runs</h2>`,
  })));
  return { index, runs: runs.length, trendPages };
}
