// The gated figures of a scenario's runs, arranged for trend charts: one metric per chart, one
// line per step and contender, one point per run.
import { BENCHMARK_METRICS, type BenchmarkEntry } from '../export/benchmark.js';
import type { RunResult } from '../result.js';
import { shortCommit, startedText } from '../report/run-index.js';

/** An entry ending in none of BENCHMARK_METRICS is not lost: it gets a chart of its own name. */
const METRIC_SUFFIXES: readonly string[] = BENCHMARK_METRICS;

export interface TrendRun {
  dir: string;
  result: RunResult;
  entries: BenchmarkEntry[];
  /** Where the entries came from: the run's benchmark.json, or computed from its result.json. */
  source: 'benchmark.json' | 'result.json';
}

export interface TrendPoint {
  /** The run's directory name: what makes points of one run countable as one. */
  run: string;
  /** Axis label: short commit over the start time (UTC). */
  label: string;
  /** Position in time among the scenario's runs (0 = oldest). */
  order: number;
  commit: string;
  startedAt: string;
  /** Step and contender, e.g. "10 relay" or "1 streams 512 B relay". */
  subject: string;
  value: number;
}

export interface TrendMetric {
  metric: string;
  unit: string;
  points: TrendPoint[];
}

function splitName(scenario: string, name: string): { subject: string; metric: string } {
  const rest = name.startsWith(`${scenario} `) ? name.slice(scenario.length + 1) : name;
  const suffix = METRIC_SUFFIXES.find((m) => rest === m || rest.endsWith(` ${m}`));
  return suffix ? { subject: rest.slice(0, rest.length - suffix.length).trim(), metric: suffix } : { subject: '', metric: rest };
}

/** One scenario's runs (any order) -> its metrics, each with the points of every run, oldest first. */
export function scenarioTrends(scenario: string, runs: TrendRun[]): TrendMetric[] {
  const ordered = [...runs].sort((a, b) => a.result.startedAt.localeCompare(b.result.startedAt) || a.dir.localeCompare(b.dir));
  const metrics = new Map<string, TrendMetric>();
  const labels = new Set<string>();
  ordered.forEach((run, order) => {
    const commit = shortCommit(run.result);
    let label = `${commit}\n${startedText(run.result).slice(5, 16)}`;
    // Two runs of one commit in the same minute still get a point each.
    for (let n = 2; labels.has(label); n++) label = `${commit}\n${startedText(run.result).slice(5, 16)} #${n}`;
    labels.add(label);
    for (const entry of run.entries) {
      if (!Number.isFinite(entry.value)) continue;
      const { subject, metric } = splitName(scenario, entry.name);
      const key = `${metric}|${entry.unit}`;
      if (!metrics.has(key)) metrics.set(key, { metric, unit: entry.unit, points: [] });
      metrics.get(key)!.points.push({ run: run.dir, label, order, commit, startedAt: run.result.startedAt, subject, value: entry.value });
    }
  });
  const rank = (m: TrendMetric) => {
    const i = METRIC_SUFFIXES.indexOf(m.metric);
    return i < 0 ? METRIC_SUFFIXES.length : i;
  };
  return [...metrics.values()].sort((a, b) => rank(a) - rank(b) || a.metric.localeCompare(b.metric));
}

/** How many distinct runs have a point in a metric's chart. */
export function runsWithPoints(metric: TrendMetric): number {
  return new Set(metric.points.map((p) => p.run)).size;
}
