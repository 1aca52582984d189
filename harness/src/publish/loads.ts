// Runs of one scenario grouped by load: a trend joins only runs made under the same load, by the
// rule the regression gate uses (gate.ts parameterDifferences: the relay's settings, repetitions
// and contenders may differ, since they are what a trend or a gate judges; rate, count, streams...
// may not).
import { parameterDifferences } from '../gate.js';
import type { TrendRun } from './trend-data.js';

export interface Load {
  runs: TrendRun[];
  /** How this load differs from the first (largest) one, as 'name: first → this'; empty for the first. */
  differences: string[];
}

/** Loads with the most runs first (then the most recent); runs inside each in the order given. */
export function groupByLoad(runs: TrendRun[]): Load[] {
  const groups: TrendRun[][] = [];
  for (const run of runs) {
    const same = groups.find((g) => parameterDifferences(g[0].result.parameters, run.result.parameters).length === 0);
    if (same) same.push(run);
    else groups.push([run]);
  }
  const latest = (g: TrendRun[]) => g.reduce((t, r) => (r.result.startedAt > t ? r.result.startedAt : t), '');
  groups.sort((a, b) => b.length - a.length || latest(b).localeCompare(latest(a)));
  return groups.map((g) => ({ runs: g, differences: parameterDifferences(groups[0][0].result.parameters, g[0].result.parameters) }));
}
