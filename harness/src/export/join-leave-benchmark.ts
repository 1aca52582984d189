// Benchmark entries of join-leave runs ("smaller is better"): per step and series, the join delay
// p99 and the leave delay max over groups, medians over repetitions (a delay beyond the window
// counts as the window, as in the gate).
import type { RunResult } from '../result.js';
import { median } from '../stats.js';
import type { BenchmarkEntry } from './benchmark-entry.js';

export const JOIN_DELAY_METRIC = 'join delay p99';
export const LEAVE_DELAY_METRIC = 'leave delay max';

export function joinLeaveEntries(result: RunResult): BenchmarkEntry[] {
  const bySeries = new Map<string, { join: number[]; leave: number[] }>();
  for (const step of result.steps) {
    for (const run of step.runs.filter((r) => r.status === 'ok' && r.joinLeave && !r.control)) {
      const { join, leave } = run.joinLeave!;
      const key = `${result.scenario} ${step.step} ${run.series}`;
      const seen = bySeries.get(key) ?? { join: [], leave: [] };
      seen.join.push(join.distribution.p99Ms ?? join.windowMs);
      if (leave) seen.leave.push(leave.distribution.maxMs ?? leave.windowMs);
      bySeries.set(key, seen);
    }
  }
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return [...bySeries.entries()].flatMap(([name, { join, leave }]) => [
    { name: `${name} ${JOIN_DELAY_METRIC}`, unit: 'ms', value: round(median(join)), extra: `repetitions=${join.length} topology=${result.topology}` },
    ...(leave.length ? [{ name: `${name} ${LEAVE_DELAY_METRIC}`, unit: 'ms', value: round(median(leave)), extra: `repetitions=${leave.length} topology=${result.topology}` }] : []),
  ]);
}
