// github-action-benchmark "customBiggerIsBetter" / "customSmallerIsBetter" entries, from the
// medians over repetitions (search trials left out; their NDR stands for them).
import type { RunResult } from '../result.js';
import { medianRows, toRows } from '../report/rows.js';
import { median } from '../stats.js';

export interface BenchmarkEntry { name: string; unit: string; value: number; extra: string }

export function benchmarkEntries(result: RunResult): { bigger: BenchmarkEntry[]; smaller: BenchmarkEntry[] } {
  const all = toRows(result);
  const bigger: BenchmarkEntry[] = [];
  const smaller: BenchmarkEntry[] = [];
  for (const r of medianRows(all).filter((x) => !x.exemptFromLoss)) {
    const name = `${result.scenario} ${r.step} ${r.series}`;
    const extra = `sent=${r.sent} repetitions=${all.filter((x) => x.step === r.step && x.series === r.series).length} topology=${result.topology}`;
    bigger.push({ name: `${name} delivered rate`, unit: 'packets/s', value: Math.round(r.deliveredPps), extra });
    smaller.push({ name: `${name} loss`, unit: '%', value: r.lossPct, extra });
    smaller.push({ name: `${name} duplicates`, unit: 'packets', value: r.duplicates, extra });
    if (r.cpuUsPerPacket !== null) smaller.push({ name: `${name} CPU per packet`, unit: 'us', value: Math.round(r.cpuUsPerPacket * 1000) / 1000, extra });
    if (!Number.isNaN(r.p99us)) smaller.push({ name: `${name} latency p99`, unit: 'us', value: r.p99us, extra });
  }
  for (const key of [...new Set((result.searches ?? []).map((s) => `${s.series}|${s.size}`))]) {
    const searches = (result.searches ?? []).filter((s) => `${s.series}|${s.size}` === key);
    const series = searches[0].series;
    const ndr = median(searches.map((s) => s.ndrPps ?? 0));
    bigger.push({ name: `${result.scenario} ${searches[0].streams} streams ${searches[0].size} B ${series} NDR`, unit: 'packets/s', value: Math.round(ndr), extra: `repetitions=${searches.length} ceiling=${searches[0].ceilingPps}${searches.some((s) => s.ndrAtCeiling) ? ' at-ceiling' : ''}` });
  }
  return { bigger, smaller };
}
