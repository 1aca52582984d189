// Gates: what a run must show to pass, evaluated from result.json alone. Absolute limits on what
// the sink counted in every repetition, ratios to socat measured in the same run
// (performance-gates.ts), the IGMP joins a snooping bridge saw, and regression against the
// baseline of the run's load (regression-gates.ts). The limits and their rules are
// harness/gates.json (gate-file.ts). Exporters (JUnit, benchmark files) live in export/.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../relay/src/api.js';
import { checkAtLeast, checkAtMost, type Check } from './checks.js';
import { samplesOf } from './compare.js';
import type { GateFile } from './gate-file.js';
import { joinLeaveChecks } from './join-leave-gates.js';
import { replicationChecks } from './replication-gates.js';
import { capacityChecks } from './capacity-gates.js';
import type { RunResult } from './result.js';
import { medianRows, repetitionGroups, toRows, type Row } from './report/rows.js';
import { ndrChecks, ratioChecks } from './performance-gates.js';
import { regressionChecks, type Baseline } from './regression-gates.js';

export type { Baseline } from './regression-gates.js';

export { DEFAULT_GATE_FILE, loadGateFile, type GateFile } from './gate-file.js';

export const BASELINE_DIR = path.join(projectRoot, 'results', 'baselines');

/**
 * Parameters that may differ between a run and its baseline: how often and what is reported, and
 * the relay's configuration and impairments, which are what the regression gate judges. The rest
 * define the load.
 */
const MAY_DIFFER_FROM_BASELINE = new Set(['repetitions', 'contenders', 'require', 'maxLossPct', 'workers', 'fanout', 'ingress', 'egress', 'impairments']);

/** Parameters newer than some baselines, with the value a run without them had (IPv4 before --family). */
const IMPLIED_PARAMETERS: Record<string, unknown> = { family: 4 };

/** The load parameters in which run and baseline differ, as 'name: baseline → run'. */
export function parameterDifferences(baseline: Record<string, unknown>, run: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(baseline), ...Object.keys(run)])].filter((k) => !MAY_DIFFER_FROM_BASELINE.has(k));
  const value = (params: Record<string, unknown>, k: string) => (k in params ? params[k] : IMPLIED_PARAMETERS[k]);
  return keys
    .filter((k) => JSON.stringify(value(baseline, k)) !== JSON.stringify(value(run, k)))
    .map((k) => `${k}: ${JSON.stringify(value(baseline, k))} → ${JSON.stringify(value(run, k))}`);
}

export function baselineFromResult(result: RunResult): Baseline {
  const samples = samplesOf(result);
  // The relay's figures, and socat's: latency and CPU regressions are judged on their ratio.
  for (const key of Object.keys(samples)) if (!key.endsWith('|relay') && !key.includes('|relay/') && !key.endsWith('|socat')) delete samples[key];
  return { schema: 'mcr-baseline', scenario: result.scenario, runId: result.runId, command: result.command, parameters: result.parameters, samples };
}

/** The load a run was made under: its parameters but those a baseline may differ in, as canonical text. */
function loadText(parameters: Record<string, unknown>): string {
  const load = { ...IMPLIED_PARAMETERS, ...parameters };
  return JSON.stringify(Object.keys(load).filter((k) => !MAY_DIFFER_FROM_BASELINE.has(k)).sort().map((k) => [k, load[k]]));
}

/**
 * One baseline per load: results/baselines/<scenario>/<N>-<hash of the load>.json, so a run is
 * compared with the baseline of its own load, whatever other loads have one.
 */
export function baselinePath(result: Pick<RunResult, 'scenario' | 'parameters'>, dir = BASELINE_DIR): string {
  const hash = createHash('sha256').update(loadText(result.parameters)).digest('hex').slice(0, 10);
  return path.join(dir, result.scenario, `${String(result.parameters.n ?? 'run')}-${hash}.json`);
}

/** The baseline made under this run's load, if one was committed. */
export function loadBaseline(result: Pick<RunResult, 'scenario' | 'parameters'>, dir = BASELINE_DIR): Baseline | undefined {
  const file = baselinePath(result, dir);
  if (!existsSync(file)) return undefined;
  const value = JSON.parse(readFileSync(file, 'utf8')) as Baseline;
  if (value.schema !== 'mcr-baseline' || typeof value.parameters !== 'object' || value.parameters === null) {
    throw new Error(`${file}: not an MCR baseline of this version; re-create it with npm run gate -- <run> --update-baseline`);
  }
  return value;
}

/** The gates and, when `compare`, the regression against the baseline of the run's load (or an INFO line saying it has none). */
export function gateRun(result: RunResult, gates: GateFile, compare = true, dir = BASELINE_DIR): { checks: Check[]; baseline?: Baseline } {
  const baseline = compare ? loadBaseline(result, dir) : undefined;
  return { baseline, checks: [...evaluateGates(result, gates, baseline), ...(compare && !baseline ? [noBaselineCheck(result, dir)] : [])] };
}

/** Reported when a run's load has no baseline: the absolute gates still apply; nothing to compare. */
function noBaselineCheck(result: Pick<RunResult, 'scenario' | 'parameters' | 'runId'>, dir: string): Check {
  return { name: 'regression', scenario: result.scenario, step: '-', contender: 'relay', metric: `no baseline for this load (${path.relative(projectRoot, baselinePath(result, dir))}); make one from a passing run with npm run gate -- results/${result.runId} --update-baseline`, value: 0, limit: 'none', pass: true, advisory: true };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Every required contender ran in every step it was planned for. One this machine's kernel cannot
 * be (no multicast routing built in) is reported, not failed: nothing could make it run here.
 */
function requiredChecks(result: RunResult): Check[] {
  return result.steps.flatMap((step) => {
    // One line per contender and reason in a step, its value the repetitions that missed it so.
    const missed = new Map<string, { run: (typeof step.runs)[number]; times: number }>();
    for (const r of step.runs.filter((x) => result.required.includes(x.contender) && x.status !== 'ok')) {
      const k = `${r.series}|${r.status}|${r.reason}`;
      missed.set(k, { run: r, times: (missed.get(k)?.times ?? 0) + 1 });
    }
    return [...missed.values()].map(({ run: r, times }) => ({ name: `required contender ${r.status}`, scenario: result.scenario, step: step.step, contender: r.series, metric: `${r.status}: ${r.reason ?? ''}`.trim(), value: times, limit: '0', pass: false, ...(r.kernelLacks ? { advisory: true } : {}) }));
  });
}

/** The snooping bridge must have seen the relay join every input group (a view from outside the relay), in every repetition. */
function igmpChecks(result: RunResult): Check[] {
  return result.steps.flatMap((step) => {
    const runs = step.runs.filter((r) => r.contender === 'relay' && !r.control && r.igmp);
    const repeated = (series: string) => runs.filter((r) => r.series === series).length > 1;
    return runs.map((r) => ({
      ...checkAtLeast({ name: 'relay IGMP joins seen by the snooping bridge', scenario: result.scenario, step: step.step, contender: r.series, ...(repeated(r.series) ? { repetition: r.repetition } : {}), metric: 'groups joined', value: r.igmp!.joined }, r.igmp!.groups),
    }));
  });
}

/**
 * Zero-tolerance limits hold in every repetition, never in the median (which would let duplicates
 * in one repetition of three pass): each check reads the worst repetition and names it.
 */
function absoluteChecks(result: RunResult, repetitions: Row[], gates: GateFile): Check[] {
  const a = gates.absolute;
  type Limit = { atMost: number } | { atLeast: number };
  const check = (name: string, metric: string, rows: Row[], pick: (r: Row) => number, limit: Limit): Check[] => {
    if (rows.length === 0) return [];
    const worse = 'atMost' in limit ? (x: number, y: number) => x > y : (x: number, y: number) => x < y;
    const worst = rows.reduce((w, r) => (worse(pick(r), pick(w)) ? r : w));
    const base = { name, scenario: result.scenario, step: worst.step, contender: worst.series, ...(repetitions.length > 1 ? { repetition: worst.repetition } : {}), metric, value: pick(worst) };
    return ['atMost' in limit ? checkAtMost(base, limit.atMost) : checkAtLeast(base, limit.atLeast)];
  };
  const gatedLoss = repetitions.filter((r) => !r.exemptFromLoss);
  return [
    ...check('generator sent traffic', 'packets sent', repetitions, (r) => r.sent, { atLeast: 1 }),
    ...check('relay duplication', 'duplicates', repetitions, (r) => r.duplicates, { atMost: a.relayMaxDuplicates }),
    ...check('relay misdelivery', 'misdelivered', repetitions, (r) => r.misdelivered, { atMost: a.relayMaxMisdelivered }),
    ...check('relay corruption', 'corrupted', repetitions, (r) => r.corrupted, { atMost: a.relayMaxCorrupted }),
    ...check('relay loss', 'loss %', gatedLoss, (r) => round(r.lossPct), { atMost: a.relayMaxLossPct }),
    ...check('relay reordering (hash fanout)', 'reordered', gatedLoss.filter((r) => r.fanout === 'hash'), (r) => r.reordered, { atMost: a.relayMaxReorderedWithHashFanout }),
  ];
}

export function evaluateGates(result: RunResult, gates: GateFile, baseline?: Baseline): Check[] {
  const isRelay = (r: Row) => r.contender === 'relay' && !r.control;
  const allRows = toRows(result);
  const relayRepetitions = repetitionGroups(allRows.filter(isRelay));
  // Performance figures are medians over the repetitions; zero-tolerance limits are not.
  const rows = medianRows(allRows);
  const relayRows = rows.filter(isRelay);
  const checks: Check[] = [...requiredChecks(result), ...igmpChecks(result)];
  for (const repetitions of relayRepetitions) checks.push(...absoluteChecks(result, repetitions, gates));
  for (const r of relayRows) {
    const repetitions = relayRepetitions.find((g) => g[0].step === r.step && g[0].series === r.series) ?? [r];
    const socatRepetitions = allRows.filter((x) => x.contender === 'socat' && x.step === r.step);
    checks.push(...ratioChecks(result, r, repetitions, rows.find((s) => s.step === r.step && s.contender === 'socat'), gates, socatRepetitions));
  }
  checks.push(...ndrChecks(result, gates));
  checks.push(...joinLeaveChecks(result));
  checks.push(...replicationChecks(result));
  checks.push(...capacityChecks(result));
  if (relayRows.length === 0) {
    checks.push({ name: 'relay results', scenario: result.scenario, step: '-', contender: 'relay', metric: 'relay runs evaluated', value: 0, limit: '>= 1', pass: false });
  }
  if (baseline) checks.push(...regressionChecks(result, baseline, gates, parameterDifferences(baseline.parameters, result.parameters)));
  return [...checks, ...(result.scenarioChecks ?? [])];
}
