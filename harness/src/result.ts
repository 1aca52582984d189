// results/<run-id>/result.json: the versioned record of a run. Reports, gates and comparisons
// read only this file.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../relay/src/native.js';
import type { Check } from './checks.js';
import type { ContenderName, ContenderReport } from './contenders/types.js';
import type { Environment } from './environment.js';
import type { StreamRecord } from './measure.js';
import { median } from './stats.js';

export const RESULT_SCHEMA = 'mcr-result';
export const RESULT_SCHEMA_VERSION = 1;

/** Sums over a step's streams for one contender. */
export interface Aggregate {
  streams: number;
  sent: number;
  delivered: number;
  lost: number;
  lossPct: number;
  duplicates: number;
  /** Extra copies per packet sent (0 = none; 1 = every packet arrived twice). */
  duplicationRatio: number;
  reordered: number;
  corrupted: number;
  /** Delivered packets per second over the generator's sending time. */
  deliveredPps: number;
  /** Latency: median of the streams' p50, worst stream's p99/p99.9/max (ns). */
  latencyNs: { p50: number; p99: number; p999: number; max: number };
  attribution: StreamRecord['attribution'];
  cpuSeconds: number | null;
}

export interface ContenderRun {
  contender: ContenderName;
  status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed (with the install hint when something is missing). */
  reason?: string;
  repetition: number;
  /** Which groups the sink joined: the outputs, or the inputs for a contender that cannot rewrite. */
  sinkJoined: 'outputs' | 'inputs';
  aggregate?: Aggregate;
  streams?: StreamRecord[];
  report?: ContenderReport;
  params: Record<string, unknown>;
}

export interface StepResult {
  /** Step label, e.g. "10" streams or "hash/2" workers. */
  step: string;
  params: Record<string, unknown>;
  runs: ContenderRun[];
}

export interface Calibration { size: number; ratePps: number; streams: number }

export interface RunResult {
  schema: typeof RESULT_SCHEMA;
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  runId: string;
  scenario: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  parameters: Record<string, unknown>;
  environment: Environment;
  calibration: Calibration | null;
  steps: StepResult[];
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

export function aggregate(records: StreamRecord[], sendSeconds: number, cpuSeconds: number | null): Aggregate {
  const sum = (pick: (r: StreamRecord) => number) => records.reduce((n, r) => n + pick(r), 0);
  const sent = sum((r) => r.sent);
  const delivered = sum((r) => r.unique);
  const lost = sum((r) => r.lost);
  const duplicates = sum((r) => r.duplicates);
  const max = (pick: (r: StreamRecord) => number) => records.reduce((m, r) => Math.max(m, pick(r)), 0);
  return {
    streams: records.length,
    sent,
    delivered,
    lost,
    lossPct: sent > 0 ? (lost / sent) * 100 : 0,
    duplicates,
    duplicationRatio: sent > 0 ? duplicates / sent : 0,
    reordered: sum((r) => r.reordered),
    corrupted: sum((r) => r.corrupted),
    deliveredPps: sendSeconds > 0 ? delivered / sendSeconds : 0,
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
  };
}
