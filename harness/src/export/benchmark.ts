// github-action-benchmark "customBiggerIsBetter" / "customSmallerIsBetter" entries, from the
// medians over repetitions (search trials left out; their NDR stands for them).
import type { RunResult } from '../result.js';
import { medianRows, toRows } from '../report/rows.js';
import { summarizeSearches } from '../searches.js';
import { joinLeaveEntries, JOIN_DELAY_METRIC, LEAVE_DELAY_METRIC } from './join-leave-benchmark.js';
import { CAPACITY_METRIC, limitEntries, REPLICATION_METRIC } from './limits-benchmark.js';
import type { BenchmarkEntry } from './benchmark-entry.js';

export type { BenchmarkEntry } from './benchmark-entry.js';

/** How each entry's name ends ("<scenario> <step> <series> <metric>"); trend charts go in this order. */
export const BENCHMARK_METRICS = ['loss', 'duplicates', 'delivered rate', 'CPU per packet', 'latency p99', 'NDR', JOIN_DELAY_METRIC, LEAVE_DELAY_METRIC, CAPACITY_METRIC, REPLICATION_METRIC] as const;
const [LOSS, DUPLICATES, DELIVERED, CPU, P99, NDR] = BENCHMARK_METRICS;

export function benchmarkEntries(result: RunResult): { bigger: BenchmarkEntry[]; smaller: BenchmarkEntry[] } {
  const all = toRows(result);
  const bigger: BenchmarkEntry[] = [];
  const smaller: BenchmarkEntry[] = [];
  for (const r of medianRows(all).filter((x) => !x.exemptFromLoss)) {
    const name = `${result.scenario} ${r.step} ${r.series}`;
    const extra = `sent=${r.sent} repetitions=${all.filter((x) => x.step === r.step && x.series === r.series).length} topology=${result.topology}`;
    bigger.push({ name: `${name} ${DELIVERED}`, unit: 'packets/s', value: Math.round(r.deliveredPps), extra });
    smaller.push({ name: `${name} ${LOSS}`, unit: '%', value: r.lossPct, extra });
    smaller.push({ name: `${name} ${DUPLICATES}`, unit: 'packets', value: r.duplicates, extra });
    if (r.cpuUsPerPacket !== null) smaller.push({ name: `${name} ${CPU}`, unit: 'us', value: Math.round(r.cpuUsPerPacket * 1000) / 1000, extra });
    if (!Number.isNaN(r.p99us)) smaller.push({ name: `${name} ${P99}`, unit: 'us', value: r.p99us, extra });
  }
  for (const s of summarizeSearches(result.searches)) {
    bigger.push({ name: `${result.scenario} ${s.streams} streams ${s.size} B ${s.series} ${NDR}`, unit: 'packets/s', value: Math.round(s.ndrPps), extra: `repetitions=${s.repetitions} ceiling=${s.ceilingPps}${s.limitedByInstrument ? ' limited-by-instrument' : ''}` });
  }
  smaller.push(...joinLeaveEntries(result));
  bigger.push(...limitEntries(result));
  return { bigger, smaller };
}
