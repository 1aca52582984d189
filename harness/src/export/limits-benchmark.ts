// Benchmark entries of limit searches ("bigger is better"): the group capacity per contender, and
// the replication NDR in delivered copies/s per mode, K and contender (medians over repetitions).
import type { RunResult } from '../result.js';
import { summarizeLimits } from '../limit-search.js';
import type { BenchmarkEntry } from './benchmark-entry.js';

export const CAPACITY_METRIC = 'group capacity';
export const REPLICATION_METRIC = 'replication NDR';

export function limitEntries(result: RunResult): BenchmarkEntry[] {
  return summarizeLimits(result.limits).map((s) => {
    const extra = `repetitions=${s.repetitions} upper=${s.upper}${s.atUpper ? ' limited-by-bound' : ''} topology=${result.topology}`;
    return s.copies
      ? { name: `${result.scenario} ${s.subject} ${s.series} ${REPLICATION_METRIC}`, unit: 'copies/s', value: Math.round(s.found * s.copies), extra }
      : { name: `${result.scenario} ${s.series} ${CAPACITY_METRIC}`, unit: 'groups', value: s.found, extra: `${extra} ratePps=${String(result.parameters.ratePps)}` };
  });
}
