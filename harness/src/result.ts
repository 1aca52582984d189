// results/<run-id>/result.json: the versioned record of a run. Reports, gates and comparisons
// read only this file.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../relay/src/api.js';
import type { CalibrationResult } from './calibrate.js';
import type { Check } from './checks.js';
import type { ContenderName, ContenderReport } from './contenders/types.js';
import type { Environment } from './environment.js';
import type { FaultRecord } from './faults.js';
import type { JoinLeaveRecord } from './join-leave-record.js';
import type { LimitSearch } from './limit-search.js';
import type { ReplicationRecord } from './replication-record.js';
import type { TimelineSample } from './timeline.js';
import { lossPercent, type StreamRecord, type WindowedTail } from './measure.js';
import { median } from './stats.js';

export const RESULT_SCHEMA = 'mcr-result';
export const RESULT_SCHEMA_VERSION = 2;

/** Sums over a step's streams for one contender. */
export interface Aggregate {
  streams: number;
  sent: number;
  /** Packets known to exist (see StreamRecord.expected); loss % = lost / expected. */
  expected: number;
  delivered: number;
  lost: number;
  lossPct: number;
  duplicates: number;
  /** Extra copies per packet sent (0 = none; 1 = every packet arrived twice). */
  duplicationRatio: number;
  reordered: number;
  corrupted: number;
  /** Packets of one stream that arrived on another stream's group (cross-talk). */
  misdelivered: number;
  /** Measured packets the generator sent per second over its measured send window (warm-up excluded). */
  offeredPps: number;
  /** Delivered packets per second over the same window: equals offeredPps when nothing is lost. */
  deliveredPps: number;
  /** The longest outage of any stream (see measure.ts outageMs), ms. */
  outageMs: number;
  /** IP TTL and TOS the delivered datagrams arrived with, over all streams (absent: none delivered). */
  ttl?: { min: number; max: number };
  tos?: { min: number; max: number };
  /** Latency: median of the streams' p50, worst stream's p99/p99.9/max (ns). */
  latencyNs: { p50: number; p99: number; p999: number; max: number };
  /** All streams' typical window tail (measure.ts windowedTail); absent when the sink reported no windows. */
  windowedTail?: WindowedTail;
  attribution: StreamRecord['attribution'];
  /** CPU seconds of the contender's processes from just before the generator started until 100 ms after it finished (null: not attributable). */
  cpuSeconds: number | null;
  /** CPU µs per packet delivered in that window, warm-up included (null when not attributable or nothing delivered). */
  cpuUsPerPacket: number | null;
}

/** What a snooping bridge in front of the contender saw it join (topology 'snooping'). */
export interface IgmpObservation {
  /** Input groups of the step. */
  groups: number;
  /** Of those, groups the bridge listed behind the contender's port before traffic started. */
  joined: number;
  /** How long the harness waited for the joins. */
  waitedMs: number;
  /** How long the bridge took to stop flooding unknown groups after its querier was enabled. */
  bridgeSettledMs: number;
}

export interface ContenderRun {
  contender: ContenderName;
  /** Label in tables, charts and checks: the contender, or e.g. "relay/hash" where a scenario varies the relay. */
  series: string;
  /** Set on runs the scenario plans as negative controls (expected to misbehave): the gates skip them. */
  control?: string;
  /** Set on runs where loss is expected by design (throughput search trials): the loss gates skip them. */
  exemptFromLoss?: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed (with the install hint when something is missing). */
  reason?: string;
  /** Skipped because the machine's kernel lacks what the contender is (e.g. no multicast routing): nothing to install. */
  kernelLacks?: boolean;
  repetition: number;
  /** Which groups the sink joined: the outputs, or the inputs for a contender that cannot rewrite. */
  sinkJoined: 'outputs' | 'inputs';
  aggregate?: Aggregate;
  igmp?: IgmpObservation;
  /** Where its processes ran: each role's CPU lists as /proc showed them (--cpus places them). */
  placement?: { contender?: string[]; generator?: string; sink?: string };
  /** The fault injected during the traffic, if the step planned one. */
  fault?: FaultRecord;
  /** Resources and sink counts sampled during the traffic, if the step asked for it (soak). */
  timeline?: TimelineSample[];
  /** Group join and leave delay (join-leave scenario): per group and as a distribution. */
  joinLeave?: JoinLeaveRecord;
  /** One input replicated to several copies (replication scenario): the aggregate counts copies. */
  replication?: ReplicationRecord;
  streams?: StreamRecord[];
  report?: ContenderReport;
  params: Record<string, unknown>;
}

export interface StepResult {
  /** Step label, e.g. "10" streams or "hash/2" workers. */
  step: string;
  /** Position on the scenario's x axis (streams, workers, offered packets/s). */
  x: number;
  params: Record<string, unknown>;
  runs: ContenderRun[];
}

/** The instrument's ceiling as calibrate() measured it. */
export type Calibration = CalibrationResult;

/** How reports draw a run, declared by its scenario. */
export interface Presentation {
  xTitle: string;
  xLog: boolean;
  /** Chart ids (see report/charts.ts), in order. */
  charts: string[];
}

/** A throughput search for one contender: the highest offered rates within each loss tolerance. */
export interface SearchResult {
  contender: string;
  series: string;
  repetition: number;
  streams: number;
  size: number;
  /** Rate the generator achieved in the highest trial with zero loss (null: even the lowest trial lost). */
  ndrPps: number | null;
  /** Rate achieved in the highest trial with at most pdrLossPct loss. */
  pdrPps: number | null;
  pdrLossPct: number;
  /** The instrument's calibrated ceiling, where the search starts. */
  ceilingPps: number;
  /**
   * The NDR is a lower bound set by the instrument ("≥"): the contender lost nothing at the
   * ceiling, or the generator could not reach the rate asked of it in that trial (it shares the CPUs).
   */
  ndrLimitedByInstrument: boolean;
  /** The search stopped when bounds were this close (fraction of the upper bound). */
  resolution: number;
  /** offeredPps: the rate asked for; achievedPps: what the generator sent (measured window). */
  trials: { offeredPps: number; achievedPps: number; lossPct: number; step: string }[];
}

export interface RunResult {
  schema: typeof RESULT_SCHEMA;
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  runId: string;
  scenario: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  parameters: Record<string, unknown>;
  /** The segment in front of the contenders: 'snooping' (IGMP decides what arrives) or 'plain'. */
  topology: string;
  /** Contenders that must run in every step for the gate to pass. */
  required: string[];
  presentation: Presentation;
  environment: Environment;
  /** The calibration at the run's (first) payload size. */
  calibration: Calibration | null;
  /** Every calibration made, one per payload size (throughput sweeps sizes). */
  calibrations?: Calibration[];
  steps: StepResult[];
  searches?: SearchResult[];
  /** Searches for the most groups (capacity) or the highest input rate (replication) with nothing lost. */
  limits?: LimitSearch[];
  /** Checks the scenario itself makes (e.g. that its negative control misbehaved); the gates include them. */
  scenarioChecks: Check[];
  /** The gates at run time (with --max-loss) and the scenario's checks. */
  checks: Check[];
  verdict: 'pass' | 'fail';
}

export const RESULTS_DIR = path.join(projectRoot, 'results');

export function newRunId(scenario: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${scenario}-${Math.random().toString(16).slice(2, 6)}`;
}

export function runDir(runId: string): string {
  const dir = path.join(RESULTS_DIR, runId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function writeResult(dir: string, result: RunResult): string {
  const file = path.join(dir, 'result.json');
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

/** Reads a result from a run directory or a result.json path; refuses other schemas. */
export function readResult(where: string): RunResult {
  const file = where.endsWith('.json') ? where : path.join(where, 'result.json');
  let value: RunResult;
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as RunResult;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (value.schema !== RESULT_SCHEMA) throw new Error(`${file} is not an MCR result (schema ${String(value.schema)})`);
  if (value.schemaVersion !== RESULT_SCHEMA_VERSION) throw new Error(`${file} has schema version ${value.schemaVersion}; this MCR reads ${RESULT_SCHEMA_VERSION}`);
  return value;
}

/**
 * Sums a step's streams. measuredSeconds: the generator's first-to-last measured send; `sent`
 * packets span sent − 1 gaps of it, so the window is stretched by sent / (sent − 1) and a
 * loss-free run delivers exactly the offered rate.
 */
/** The lowest and highest of a per-stream range over the streams that have one. */
function span(key: 'ttl' | 'tos', records: StreamRecord[]): { ttl?: { min: number; max: number } } & { tos?: { min: number; max: number } } {
  const ranges = records.flatMap((r) => (r[key] ? [r[key]!] : []));
  return ranges.length ? { [key]: { min: Math.min(...ranges.map((x) => x.min)), max: Math.max(...ranges.map((x) => x.max)) } } : {};
}

export function aggregate(records: StreamRecord[], measuredSeconds: number, cpuSeconds: number | null, warmupDelivered = 0): Aggregate {
  const sum = (pick: (r: StreamRecord) => number) => records.reduce((n, r) => n + pick(r), 0);
  const sent = sum((r) => r.sent);
  const expected = sum((r) => r.expected);
  const delivered = sum((r) => r.unique);
  const lost = sum((r) => r.lost);
  const duplicates = sum((r) => r.duplicates);
  const max = (pick: (r: StreamRecord) => number) => records.reduce((m, r) => Math.max(m, pick(r)), 0);
  const window = sent > 1 && measuredSeconds > 0 ? (measuredSeconds * sent) / (sent - 1) : 0;
  return {
    streams: records.length,
    sent,
    expected,
    delivered,
    lost,
    lossPct: lossPercent(lost, expected),
    duplicates,
    duplicationRatio: sent > 0 ? duplicates / sent : 0,
    reordered: sum((r) => r.reordered),
    corrupted: sum((r) => r.corrupted),
    misdelivered: sum((r) => r.misdelivered),
    offeredPps: window > 0 ? sent / window : 0,
    deliveredPps: window > 0 ? delivered / window : 0,
    outageMs: max((r) => r.outageMs),
    ...span('ttl', records),
    ...span('tos', records),
    latencyNs: {
      p50: records.length ? median(records.map((r) => r.latencyNs.p50)) : 0,
      p99: max((r) => r.latencyNs.p99),
      p999: max((r) => r.latencyNs.p999),
      max: max((r) => r.latencyNs.max),
    },
    attribution: {
      generatorErrors: sum((r) => r.attribution.generatorErrors),
      contenderIngressDrops: sum((r) => r.attribution.contenderIngressDrops),
      contenderEgressErrors: sum((r) => r.attribution.contenderEgressErrors),
      sinkOverflow: sum((r) => r.attribution.sinkOverflow),
      unexplained: sum((r) => r.attribution.unexplained),
    },
    cpuSeconds,
    // The CPU window covers the warm-up too: its packets count as forwarded work.
    cpuUsPerPacket: cpuSeconds !== null && delivered > 0 ? (cpuSeconds * 1e6) / (delivered + warmupDelivered) : null,
  };
}
