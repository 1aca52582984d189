// Gates: absolute limits and regression against a committed baseline, evaluated from result.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../relay/src/native.js';
import { checkAtLeast, checkAtMost, describeCheck, type Check } from './checks.js';
import type { RunResult } from './result.js';
import { medianRows, toRows, type Row } from './report/rows.js';

export interface GateFile {
  absolute: {
    relayMaxLossPct: number;
    relayMaxDuplicates: number;
    relayMaxReorderedWithHashFanout: number;
    relayMinDeliveredRatioToSocat: number;
  };
  regression: {
    /** Allowed increase of relay loss % over the baseline's, in percentage points. */
    lossPctTolerance: number;
    /** Allowed fall of relay delivered packets below the baseline's, in percent. */
    deliveredDropTolerancePct: number;
  };
}

export const DEFAULT_GATE_FILE = path.join(projectRoot, 'harness', 'gates.json');
export const BASELINE_DIR = path.join(projectRoot, 'results', 'baselines');

export function loadGateFile(file = DEFAULT_GATE_FILE): GateFile {
  let value: GateFile;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as GateFile;
  } catch (err) {
    throw new Error(`gate file ${file}: ${(err as Error).message}`);
  }
  const numbers = { ...value.absolute, ...value.regression } as Record<string, unknown>;
  for (const key of ['relayMaxLossPct', 'relayMaxDuplicates', 'relayMaxReorderedWithHashFanout', 'relayMinDeliveredRatioToSocat', 'lossPctTolerance', 'deliveredDropTolerancePct']) {
    if (typeof numbers[key] !== 'number') throw new Error(`gate file ${file}: '${key}' must be a number`);
  }
  return value;
}

/** Baseline: per step, the relay's median figures from a run that was accepted. */
export interface Baseline {
  scenario: string;
  runId: string;
  steps: Record<string, { lossPct: number; delivered: number; sent: number }>;
}

export function baselineFromResult(result: RunResult): Baseline {
  const steps: Baseline['steps'] = {};
  for (const r of medianRows(toRows(result))) {
    if (r.contender !== 'relay' || r.fanout === 'none') continue;
    steps[`${r.step}|${r.series}`] = { lossPct: r.lossPct, delivered: r.delivered, sent: r.sent };
  }
  return { scenario: result.scenario, runId: result.runId, steps };
}

export function baselinePath(scenario: string): string {
  return path.join(BASELINE_DIR, `${scenario}.json`);
}

export function evaluateGates(result: RunResult, gates: GateFile, baseline?: Baseline): Check[] {
  const checks: Check[] = [];
  const rows = medianRows(toRows(result));
  const base = (r: Row, metric: string, value: number) => ({ name: '', scenario: result.scenario, step: r.step, contender: r.series, metric, value });
  for (const r of rows) {
    if (r.contender !== 'relay') continue;
    const control = r.fanout === 'none';
    if (control && result.scenario === 'multi-worker') continue; // expected to duplicate: the scenario checks that itself
    checks.push({ ...checkAtMost(base(r, 'loss %', r.lossPct), gates.absolute.relayMaxLossPct), name: 'relay loss' });
    checks.push({ ...checkAtMost(base(r, 'duplicates', r.duplicates), gates.absolute.relayMaxDuplicates), name: 'relay duplication' });
    if (r.fanout === 'hash') checks.push({ ...checkAtMost(base(r, 'reordered', r.reordered), gates.absolute.relayMaxReorderedWithHashFanout), name: 'relay reordering (hash fanout)' });
    const socat = rows.find((s) => s.step === r.step && s.contender === 'socat');
    if (socat && socat.delivered > 0) {
      const ratio = Math.round((r.delivered / socat.delivered) * 1000) / 1000;
      checks.push({ ...checkAtLeast(base(r, 'delivered relay/socat', ratio), gates.absolute.relayMinDeliveredRatioToSocat), name: 'relay vs socat' });
    }
    const was = baseline?.steps[`${r.step}|${r.series}`];
    if (was) {
      checks.push({ ...checkAtMost(base(r, 'loss % vs baseline', r.lossPct), Math.round((was.lossPct + gates.regression.lossPctTolerance) * 1000) / 1000), name: 'regression: loss' });
      const wasShare = was.sent > 0 ? (was.delivered / was.sent) * 100 : 100;
      const share = r.sent > 0 ? (r.delivered / r.sent) * 100 : 100;
      checks.push({ ...checkAtLeast(base(r, 'delivered % of sent vs baseline', Math.round(share * 1000) / 1000), Math.round((wasShare - gates.regression.deliveredDropTolerancePct) * 1000) / 1000), name: 'regression: delivered' });
    }
  }
  return checks;
}

export function loadBaseline(scenario: string): Baseline | undefined {
  const file = baselinePath(scenario);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Baseline) : undefined;
}

/** JUnit XML: one test case per check, failures carrying the human message. */
export function junitXml(result: RunResult, checks: Check[]): string {
  const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
  const failures = checks.filter((c) => !c.pass).length;
  const cases = checks
    .map((c) => {
      const name = esc(`${c.name}: step ${c.step} ${c.contender}${c.stream === undefined ? '' : ` stream ${c.stream}`} ${c.metric}`);
      return c.pass
        ? `    <testcase classname="mcr.${esc(result.scenario)}" name="${name}"/>`
        : `    <testcase classname="mcr.${esc(result.scenario)}" name="${name}"><failure message="${esc(describeCheck(c))}"/></testcase>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="mcr-gate" tests="${checks.length}" failures="${failures}">
  <testsuite name="${esc(result.scenario)} ${esc(result.runId)}" tests="${checks.length}" failures="${failures}">
${cases}
  </testsuite>
</testsuites>
`;
}

/** github-action-benchmark "customBiggerIsBetter" / "customSmallerIsBetter" entries. */
export function benchmarkEntries(result: RunResult): { bigger: object[]; smaller: object[] } {
  const rows = medianRows(toRows(result));
  const bigger: object[] = [];
  const smaller: object[] = [];
  for (const r of rows) {
    const name = `${result.scenario} ${r.step} ${r.series}`;
    const extra = `sent=${r.sent} repetitions=${toRows(result).filter((x) => x.step === r.step && x.series === r.series).length}`;
    bigger.push({ name: `${name} delivered rate`, unit: 'packets/s', value: Math.round(r.deliveredPps), extra });
    smaller.push({ name: `${name} loss`, unit: '%', value: r.lossPct, extra });
    smaller.push({ name: `${name} duplicates`, unit: 'packets', value: r.duplicates, extra });
    if (!Number.isNaN(r.p99us)) smaller.push({ name: `${name} latency p99`, unit: 'us', value: r.p99us, extra });
  }
  return { bigger, smaller };
}

/** Evaluates, writes junit.xml and benchmark files beside the result, returns the checks. */
export function gateRun(dir: string, result: RunResult, gates: GateFile, baseline = loadBaseline(result.scenario)): Check[] {
  const checks = evaluateGates(result, gates, baseline);
  writeFileSync(path.join(dir, 'junit.xml'), junitXml(result, checks));
  const { bigger, smaller } = benchmarkEntries(result);
  writeFileSync(path.join(dir, 'benchmark-bigger-is-better.json'), JSON.stringify(bigger, null, 2) + '\n');
  writeFileSync(path.join(dir, 'benchmark-smaller-is-better.json'), JSON.stringify(smaller, null, 2) + '\n');
  writeFileSync(path.join(dir, 'benchmark.json'), JSON.stringify([...bigger, ...smaller], null, 2) + '\n');
  writeFileSync(path.join(dir, 'gate.json'), JSON.stringify({ verdict: checks.every((c) => c.pass) ? 'pass' : 'fail', baseline: baseline?.runId ?? null, checks }, null, 2) + '\n');
  return checks;
}
