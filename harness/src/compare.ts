// Compares two runs step by step. A change counts as a regression or an improvement only when it
// is larger than the noise: the wider of the two runs' spreads (max - min over repetitions) for
// that metric, and never less than a floor for runs without repetitions.
import type { RunResult } from './result.js';
import { toRows, type Row } from './report/rows.js';
import { median } from './stats.js';

interface MetricDef {
  key: 'lossPct' | 'duplicates' | 'reordered' | 'deliveredPps' | 'p50us' | 'p99us';
  label: string;
  better: 'lower' | 'higher';
  /** Smallest change that can count, absolute or relative to the baseline value. */
  floor: { absolute?: number; relative?: number };
}

const METRICS: MetricDef[] = [
  { key: 'lossPct', label: 'loss %', better: 'lower', floor: { absolute: 0.05 } },
  { key: 'duplicates', label: 'duplicates', better: 'lower', floor: { absolute: 0.5 } },
  { key: 'reordered', label: 'reordered', better: 'lower', floor: { absolute: 0.5 } },
  { key: 'deliveredPps', label: 'delivered pps', better: 'higher', floor: { relative: 0.05 } },
  { key: 'p50us', label: 'p50 µs', better: 'lower', floor: { relative: 0.25 } },
  { key: 'p99us', label: 'p99 µs', better: 'lower', floor: { relative: 0.5 } },
];

export interface Change {
  step: string;
  series: string;
  metric: string;
  a: number;
  b: number;
  noise: number;
  verdict: 'regression' | 'improvement' | 'same';
}

function groups(result: RunResult): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of toRows(result)) out.set(`${r.step}|${r.series}`, [...(out.get(`${r.step}|${r.series}`) ?? []), r]);
  return out;
}

const spread = (values: number[]) => (values.length > 1 ? Math.max(...values) - Math.min(...values) : 0);

export function compareRuns(a: RunResult, b: RunResult): Change[] {
  if (a.scenario !== b.scenario) throw new Error(`cannot compare ${a.scenario} with ${b.scenario}`);
  const ga = groups(a);
  const gb = groups(b);
  const changes: Change[] = [];
  for (const [key, rowsA] of ga) {
    const rowsB = gb.get(key);
    if (!rowsB) continue;
    for (const m of METRICS) {
      const va = rowsA.map((r) => r[m.key]);
      const vb = rowsB.map((r) => r[m.key]);
      const ma = median(va);
      const mb = median(vb);
      const floor = Math.max(m.floor.absolute ?? 0, (m.floor.relative ?? 0) * Math.abs(ma));
      const noise = Math.max(spread(va), spread(vb), floor);
      const delta = mb - ma;
      const worse = m.better === 'lower' ? delta > 0 : delta < 0;
      const verdict = Math.abs(delta) <= noise ? 'same' : worse ? 'regression' : 'improvement';
      changes.push({ step: rowsA[0].step, series: rowsA[0].series, metric: m.label, a: ma, b: mb, noise, verdict });
    }
  }
  return changes;
}
