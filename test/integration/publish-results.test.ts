// npm run publish-results end to end: a results folder in, a static site out, opened from file://
// in headless Chromium (Debian's package), whose trend chart must show points of several runs.
//
// The input runs are synthesised, not measured: scenarios write into the project's own results/
// and need root and network namespaces, and CI starts from a clean clone. Each result is built by
// sampleResult (test/unit/sample-result.ts), which sums its streams with the harness's aggregate();
// reports come from renderReport, and one run is gated (writeGateFiles: benchmark.json) while the
// other is not, so both sources of trend figures are exercised.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { CHROMIUM_FLAGS, findChromium } from './chromium.js';
import { afterAll, describe, expect, it } from 'vitest';
import { writeGateFiles } from '../../harness/src/export/gate-files.js';
import { evaluateGates, loadGateFile } from '../../harness/src/gate.js';
import { renderReport } from '../../harness/src/report/render.js';
import { writeResult, type RunResult } from '../../harness/src/result.js';
import { projectRoot } from '../../relay/src/api.js';
import { sampleResult, type SampleFigures } from '../unit/sample-result.js';

const run = promisify(execFile);
const CLI = path.join(projectRoot, 'dist', 'harness', 'src', 'cli', 'publish-results.js');


const chromium = findChromium();
if (!chromium) console.warn('SKIPPED published results in browser: chromium not found (apt-get install chromium)');


const tmp = mkdtempSync(path.join(os.tmpdir(), 'mcr-publish-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface SampleRun {
  id: string;
  startedAt: string;
  commit: string;
  relay: SampleFigures;
  gated: boolean;
  parameters?: Record<string, unknown>;
}

/** Writes one run as a scenario leaves it: result.json, the reports and charts, and when gated the gate files. */
async function writeRun(resultsDir: string, s: SampleRun): Promise<RunResult> {
  const base = sampleResult(s.relay);
  const result: RunResult = {
    ...base,
    runId: s.id,
    startedAt: s.startedAt,
    finishedAt: s.startedAt.replace(':00.000Z', ':59.000Z'),
    parameters: s.parameters ?? base.parameters,
    environment: { ...base.environment, git: { commit: s.commit, dirty: false } },
  };
  const dir = path.join(resultsDir, s.id);
  mkdirSync(dir, { recursive: true });
  writeResult(dir, result);
  await renderReport(dir, result);
  if (s.gated) writeGateFiles(dir, result, evaluateGates(result, loadGateFile()), null);
  return result;
}

const RUNS: SampleRun[] = [
  { id: '20261101T100000Z-multi-stream-aaaa', startedAt: '2026-11-01T10:00:00.000Z', commit: '1111111aaaaaaaa', relay: { latencyUs: 40 }, gated: true },
  { id: '20261102T100000Z-multi-stream-bbbb', startedAt: '2026-11-02T10:00:00.000Z', commit: '2222222bbbbbbbb', relay: { latencyUs: 55, lost: 2 }, gated: false },
  // Another load (more streams): its trend is apart from the first two runs'.
  { id: '20261103T100000Z-multi-stream-cccc', startedAt: '2026-11-03T10:00:00.000Z', commit: '3333333cccccccc', relay: {}, gated: false, parameters: { n: 10 } },
];

async function publish(args: string[]) {
  return execa(process.execPath, [CLI, ...args], { reject: false, cwd: projectRoot });
}

async function dumpDom(file: string, profile: string): Promise<string> {
  const { stdout } = await run(chromium!, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`], { timeout: 60_000, maxBuffer: 64 << 20 });
  return stdout;
}

/** The first chart of a metric on a trend page (load 1's), and the runs its points name. */
function chartRuns(dom: string, metric: string): { runs: Set<string>; points: number; declaredRuns: number } {
  const figure = new RegExp(`<figure class="trend" data-metric="${metric}"[^>]*data-runs="(\\d+)"[^>]*>([\\s\\S]*?)</figure>`).exec(dom);
  expect(figure, `a ${metric} chart`).not.toBeNull();
  const labels = [...figure![2].matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="point"/g)].map((m) => m[1]);
  return { runs: new Set(labels.map((l) => /; run (\S+),/.exec(l)?.[1] ?? '')), points: labels.length, declaredRuns: Number(figure![1]) };
}

describe('publish-results refuses what it cannot publish (exit 2)', () => {
  it('no results folder, no runs in it, an output inside a run, a non-empty foreign output', async () => {
    const empty = path.join(tmp, 'empty-results');
    mkdirSync(empty);
    const missing = await publish([path.join(tmp, 'site-x'), '--from', path.join(tmp, 'nope')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('no results directory');
    const none = await publish([path.join(tmp, 'site-x'), '--from', empty]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('no runs in');

    const results = path.join(tmp, 'refusals');
    await writeRun(results, RUNS[0]);
    const inRun = await publish([path.join(results, RUNS[0].id, 'site'), '--from', results]);
    expect(inRun.exitCode).toBe(2);
    expect(inRun.stderr).toContain('inside the run directory');
    const itself = await publish([results, '--from', results]);
    expect(itself.exitCode).toBe(2);
    const foreign = path.join(tmp, 'foreign');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine\n');
    const clobber = await publish([foreign, '--from', results]);
    expect(clobber.exitCode).toBe(2);
    expect(clobber.stderr).toContain('not empty');
    expect(readFileSync(path.join(foreign, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect((await publish([])).exitCode).toBe(2); // no OUT_DIR: commander's usage error
  });
});

describe.skipIf(!chromium)('published results in headless Chromium', () => {
  const profile = path.join(tmp, 'profile');

  it('the index lists every run with working links, and the trend chart has points from two runs', async () => {
    const results = path.join(tmp, 'results');
    for (const s of RUNS) await writeRun(results, s);
    expect(existsSync(path.join(results, RUNS[0].id, 'benchmark.json'))).toBe(true);
    expect(existsSync(path.join(results, RUNS[1].id, 'benchmark.json'))).toBe(false);

    const site = path.join(tmp, 'site');
    const out = await publish([site, '--from', results]);
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stderr).toContain('publishing 3 runs');
    const index = path.join(site, 'index.html');
    expect(out.stdout.trim().split('\n').at(-1)).toBe(index);

    const indexDom = await dumpDom(index, profile);
    const listed = [...indexDom.matchAll(/<tr data-run="([^"]+)">/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual(RUNS.map((r) => r.id).sort());
    expect(indexDom).toContain('1111111');
    const hrefs = [...indexDom.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]);
    expect(hrefs).toContain('trends/multi-stream.html');
    expect(hrefs.length).toBe(RUNS.length + 1);
    for (const href of hrefs) expect(existsSync(path.join(site, decodeURIComponent(href))), href).toBe(true);

    const trendDom = await dumpDom(path.join(site, 'trends', 'multi-stream.html'), profile);
    // Lines per chart: 3 steps x 3 contenders; the kernel's forwarding has no attributable CPU.
    for (const [metric, lines] of [['loss', 9], ['latency p99', 9], ['CPU per packet', 6]] as const) {
      const { runs, points, declaredRuns } = chartRuns(trendDom, metric);
      // Load 1 holds the two runs made with the same parameters, oldest first; the third run is load 2.
      expect([...runs], metric).toEqual([RUNS[0].id, RUNS[1].id]);
      expect(declaredRuns).toBe(2);
      expect(points, metric).toBe(2 * lines);
    }
    expect(trendDom).toContain('id="load-2" data-runs="1"');
    // Points are labelled with their commit on the axis.
    expect(trendDom).toMatch(/<tspan>1111111<\/tspan>/);
    expect(trendDom).toMatch(/<tspan>2222222<\/tspan>/);
    // Self-contained: nothing fetched from the network, no script.
    expect(readFileSync(path.join(site, 'trends', 'multi-stream.html'), 'utf8')).not.toMatch(/<script|src="http|href="http/);
    // Each trend link back to a report resolves too.
    for (const href of [...trendDom.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1])) {
      expect(existsSync(path.resolve(site, 'trends', decodeURIComponent(href))), href).toBe(true);
    }

    // Published again into the same site: rebuilt, not refused.
    expect((await publish([site, '--from', results, '--quiet'])).exitCode).toBe(0);
  }, 120_000);

  it('from a single run the same chart has points from one run only (the check above can fail)', async () => {
    const results = path.join(tmp, 'single');
    await writeRun(results, RUNS[0]);
    const site = path.join(tmp, 'single-site');
    const out = await publish([site, '--from', results, '--quiet']);
    expect(out.exitCode, out.stderr).toBe(0);
    const { runs, declaredRuns } = chartRuns(await dumpDom(path.join(site, 'trends', 'multi-stream.html'), profile), 'loss');
    expect([...runs]).toEqual([RUNS[0].id]);
    expect(declaredRuns).toBe(1);
  }, 60_000);
});
