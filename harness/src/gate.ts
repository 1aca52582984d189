// Gates: what a run must show to pass, evaluated from result.json alone. Absolute limits on what
// the sink counted, ratios to socat measured in the same run (stable on a noisy machine), the
// IGMP joins a snooping bridge saw, and regression against a committed baseline within the noise
// the repetitions show. Exporters (JUnit, benchmark files) live in export/.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../relay/src/api.js';
import { checkAtLeast, checkAtMost, type Check } from './checks.js';
import { compareSamples, samplesOf, type MetricKey, type Samples } from './compare.js';
import { joinLeaveChecks } from './join-leave-gates.js';
import { replicationChecks } from './replication-gates.js';
import type { RunResult } from './result.js';
import { medianRows, repetitionGroups, toRows, type Row } from './report/rows.js';
import { summarizeSearches } from './searches.js';
import { median } from './stats.js';

export interface GateFile {
  absolute: {
    relayMaxLossPct: number;
    relayMaxDuplicates: number;
    relayMaxReorderedWithHashFanout: number;
    relayMaxMisdelivered: number;
    relayMaxCorrupted: number;
  };
  performance: {
    /** Relay CPU µs per delivered packet / socat's, same step. */
    relayMaxCpuPerPacketRatioToSocat: number;
    /** Both sides need this much CPU time for the ratio to mean something. */
    minCpuSecondsForRatio: number;
    /**
     * Below this delivered rate the CPU ratio is reported, not gated: the relay's fixed cost (each
     * worker wakes at every 1 ms ring-block timeout) outweighs its per-packet cost there.
     */
    minPpsForCpuRatio: number;
    /** Relay NDR / socat NDR, medians over repetitions. */
    relayMinNdrRatioToSocat: number;
    /** Relay p99 / socat p99, same step; null = reported, not gated. */
    relayMaxP99RatioToSocat: number | null;
  };
}

export const DEFAULT_GATE_FILE = path.join(projectRoot, 'harness', 'gates.json');
export const BASELINE_DIR = path.join(projectRoot, 'results', 'baselines');

const NUMBER_KEYS = {
  absolute: ['relayMaxLossPct', 'relayMaxDuplicates', 'relayMaxReorderedWithHashFanout', 'relayMaxMisdelivered', 'relayMaxCorrupted'],
  performance: ['relayMaxCpuPerPacketRatioToSocat', 'minCpuSecondsForRatio', 'minPpsForCpuRatio', 'relayMinNdrRatioToSocat'],
} as const;

export function loadGateFile(file = DEFAULT_GATE_FILE): GateFile {
  let value: GateFile;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as GateFile;
  } catch (err) {
    throw new Error(`gate file ${file}: ${(err as Error).message}`);
  }
  for (const [section, keys] of Object.entries(NUMBER_KEYS)) {
    for (const key of keys) {
      const v = (value as unknown as Record<string, Record<string, unknown> | undefined>)[section]?.[key];
      if (typeof v !== 'number') throw new Error(`gate file ${file}: '${section}.${key}' must be a number`);
    }
  }
  const p99 = value.performance.relayMaxP99RatioToSocat;
  if (p99 !== null && typeof p99 !== 'number') throw new Error(`gate file ${file}: 'performance.relayMaxP99RatioToSocat' must be a number or null`);
  return value;
}

/** Baseline: a passing run's measurements, every repetition kept so the noise is known. */
export interface Baseline {
  schema: 'mcr-baseline';
  scenario: string;
  runId: string;
  command: string;
  /** The run's parameters: a run is compared only with a baseline made under the same load. */
  parameters: Record<string, unknown>;
  samples: Samples;
}

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
  for (const key of Object.keys(samples)) if (!key.endsWith('|relay') && !key.includes('|relay/')) delete samples[key];
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

function ratioChecks(result: RunResult, r: Row, socat: Row | undefined, gates: GateFile): Check[] {
  if (!socat || r.exemptFromLoss) return [];
  const p = gates.performance;
  const base = (metric: string, value: number) => ({ name: '', scenario: result.scenario, step: r.step, contender: r.series, metric, value });
  const checks: Check[] = [];
  const enoughCpu = (x: Row) => x.cpuSeconds !== null && x.cpuSeconds >= p.minCpuSecondsForRatio && x.cpuUsPerPacket !== null;
  if (enoughCpu(r) && enoughCpu(socat)) {
    const check = { ...checkAtMost(base('CPU µs/packet relay/socat', round(r.cpuUsPerPacket! / socat.cpuUsPerPacket!)), p.relayMaxCpuPerPacketRatioToSocat), name: 'relay CPU per packet vs socat' };
    checks.push(r.deliveredPps >= p.minPpsForCpuRatio ? check : { ...check, pass: true, advisory: true, limit: `${check.limit} from ${p.minPpsForCpuRatio} packets/s` });
  }
  if (r.p99us > 0 && socat.p99us > 0) {
    const ratio = round(r.p99us / socat.p99us);
    checks.push(p.relayMaxP99RatioToSocat === null
      ? { ...base('p99 relay/socat', ratio), name: 'relay p99 latency vs socat', limit: 'none', pass: true, advisory: true }
      : { ...checkAtMost(base('p99 relay/socat', ratio), p.relayMaxP99RatioToSocat), name: 'relay p99 latency vs socat' });
  }
  return checks;
}

/** Per payload size: relay NDR / socat NDR, medians over repetitions. */
function ndrChecks(result: RunResult, gates: GateFile): Check[] {
  const summaries = summarizeSearches(result.searches);
  return summaries
    .filter((relay) => relay.series === 'relay')
    .flatMap((relay) => {
      const socat = summaries.find((s) => s.series === 'socat' && s.size === relay.size);
      if (!socat || socat.ndrPps === 0) return [];
      return [checkAtLeast({ name: 'relay NDR vs socat', scenario: result.scenario, step: `NDR ${relay.size}B`, contender: 'relay', metric: 'NDR relay/socat', value: round(relay.ndrPps / socat.ndrPps) }, gates.performance.relayMinNdrRatioToSocat)];
    });
}

/** Metrics the baseline regression gates (duplicates and reordering have absolute limits of 0). */
const REGRESSION_METRICS: MetricKey[] = ['lossPct', 'deliveredPps', 'cpuUsPerPacket', 'p50us', 'p99us', 'ndrPps'];

/**
 * An NDR the instrument set ("≥": nothing lost at the highest rate the generator reached, in every
 * repetition) is a lower bound on the contender's: below the baseline, it says the generator was
 * slower this time (the machine is shared), not the relay.
 */
function instrumentBound(result: RunResult, step: string, series: string): boolean {
  const searches = (result.searches ?? []).filter((s) => `NDR ${s.size}B` === step && s.series === series);
  return searches.length > 0 && searches.every((s) => s.ndrLimitedByInstrument);
}

function regressionChecks(result: RunResult, baseline: Baseline, gates: GateFile): Check[] {
  const differences = parameterDifferences(baseline.parameters, result.parameters);
  if (differences.length) {
    // Another load: any comparison would be meaningless, and passing silently would hide that.
    return [{ name: 'regression: baseline made with the same parameters', scenario: result.scenario, step: '-', contender: 'relay', metric: `parameters differ from baseline ${baseline.runId} (${baseline.command}): ${differences.join('; ')}; refresh it with npm run gate -- <run> --update-baseline`, value: differences.length, limit: '0', pass: false }];
  }
  const current = samplesOf(result);
  // CPU per packet below minPpsForCpuRatio is mostly the relay's fixed wake-up cost: compared there neither.
  const perPacketWork = (key: string) => median(current[key]?.deliveredPps ?? [0]) >= gates.performance.minPpsForCpuRatio;
  return compareSamples(baseline.samples, current)
    .filter((c) => REGRESSION_METRICS.includes(c.key))
    .filter((c) => c.key !== 'cpuUsPerPacket' || perPacketWork(`${c.step}|${c.series}`))
    .map((c) => {
      const limit = c.better === 'higher' ? `>= ${round(c.a - c.noise)}` : `<= ${round(c.a + c.noise)}`;
      const check = { name: `regression: ${c.metric}`, scenario: result.scenario, step: c.step, contender: c.series, metric: `${c.metric} vs baseline ${round(c.a)}`, value: round(c.b), limit, pass: c.verdict !== 'regression' };
      if (check.pass || c.key !== 'ndrPps' || !instrumentBound(result, c.step, c.series)) return check;
      return { ...check, pass: true, advisory: true, metric: `${check.metric}, a lower bound the instrument set (≥): no evidence against the relay` };
    });
}

export function evaluateGates(result: RunResult, gates: GateFile, baseline?: Baseline): Check[] {
  const isRelay = (r: Row) => r.contender === 'relay' && !r.control;
  const relayRepetitions = repetitionGroups(toRows(result).filter(isRelay));
  // Performance figures are medians over the repetitions; zero-tolerance limits are not.
  const rows = medianRows(toRows(result));
  const relayRows = rows.filter(isRelay);
  const checks: Check[] = [...requiredChecks(result), ...igmpChecks(result)];
  for (const repetitions of relayRepetitions) checks.push(...absoluteChecks(result, repetitions, gates));
  for (const r of relayRows) checks.push(...ratioChecks(result, r, rows.find((s) => s.step === r.step && s.contender === 'socat'), gates));
  checks.push(...ndrChecks(result, gates));
  checks.push(...joinLeaveChecks(result));
  checks.push(...replicationChecks(result));
  if (relayRows.length === 0) {
    checks.push({ name: 'relay results', scenario: result.scenario, step: '-', contender: 'relay', metric: 'relay runs evaluated', value: 0, limit: '>= 1', pass: false });
  }
  if (baseline) checks.push(...regressionChecks(result, baseline, gates));
  return [...checks, ...(result.scenarioChecks ?? [])];
}
