// Compares two sets of measurements step by step. A change counts as a regression or an
// improvement only when it is larger than the noise: the wider of the two sides' spreads
// (max − min over repetitions) for that metric, and never less than the metric's floor — the
// change a single repetition on this shared machine can show by itself. One rule, used by
// `npm run compare` and by the gate's regression checks against a baseline.
import type { RunResult } from './result.js';
import { toRows } from './report/rows.js';
import { median } from './stats.js';

export type MetricKey = 'lossPct' | 'duplicates' | 'reordered' | 'deliveredPps' | 'cpuUsPerPacket' | 'p50us' | 'p99us' | 'ndrPps';

interface MetricDef {
  key: MetricKey;
  label: string;
  better: 'lower' | 'higher';
  /** Smallest change that can count, absolute or relative to the earlier value. */
  floor: { absolute?: number; relative?: number };
}

const METRICS: MetricDef[] = [
  { key: 'lossPct', label: 'loss %', better: 'lower', floor: { absolute: 0.05 } },
  { key: 'duplicates', label: 'duplicates', better: 'lower', floor: { absolute: 0.5 } },
  { key: 'reordered', label: 'reordered', better: 'lower', floor: { absolute: 0.5 } },
  { key: 'deliveredPps', label: 'delivered pps', better: 'higher', floor: { relative: 0.05 } },
  { key: 'cpuUsPerPacket', label: 'CPU µs/packet', better: 'lower', floor: { relative: 0.5 } },
  { key: 'p50us', label: 'p50 µs', better: 'lower', floor: { relative: 1, absolute: 100 } },
  { key: 'p99us', label: 'p99 µs', better: 'lower', floor: { relative: 2, absolute: 1000 } },
  { key: 'ndrPps', label: 'NDR pps', better: 'higher', floor: { relative: 0.25 } },
];

/** Per "step|series": each metric's values over the repetitions. */
export type Samples = Record<string, Partial<Record<MetricKey, number[]>>>;

export interface Change {
  step: string;
  series: string;
  metric: string;
  key: MetricKey;
  better: MetricDef['better'];
  a: number;
  b: number;
  noise: number;
  verdict: 'regression' | 'improvement' | 'same';
}

function push(samples: Samples, key: string, metric: MetricKey, value: number | null | undefined): void {
  if (value === null || value === undefined || Number.isNaN(value)) return;
  const entry = (samples[key] ??= {});
  (entry[metric] ??= []).push(value);
}

/** Measurements of a run (search trials left out: their loss is by design), and NDR per series. */
export function samplesOf(result: RunResult): Samples {
  const samples: Samples = {};
  for (const r of toRows(result)) {
    if (r.exemptFromLoss || r.control) continue;
    const key = `${r.step}|${r.series}`;
    for (const m of ['lossPct', 'duplicates', 'reordered', 'deliveredPps', 'cpuUsPerPacket', 'p50us', 'p99us'] as const) push(samples, key, m, r[m]);
  }
  for (const s of result.searches ?? []) push(samples, `NDR ${s.size}B|${s.series}`, 'ndrPps', s.ndrPps);
  return samples;
}

const spread = (values: number[]) => (values.length > 1 ? Math.max(...values) - Math.min(...values) : 0);

export function compareSamples(a: Samples, b: Samples): Change[] {
  const changes: Change[] = [];
  for (const [key, metricsA] of Object.entries(a)) {
    const metricsB = b[key];
    if (!metricsB) continue;
    const [step, series] = key.split('|');
    for (const m of METRICS) {
      const va = metricsA[m.key];
      const vb = metricsB[m.key];
      if (!va?.length || !vb?.length) continue;
      const ma = median(va);
      const mb = median(vb);
      const floor = Math.max(m.floor.absolute ?? 0, (m.floor.relative ?? 0) * Math.abs(ma));
      const noise = Math.max(spread(va), spread(vb), floor);
      const delta = mb - ma;
      const worse = m.better === 'lower' ? delta > 0 : delta < 0;
      const verdict = Math.abs(delta) <= noise ? 'same' : worse ? 'regression' : 'improvement';
      changes.push({ step, series, metric: m.label, key: m.key, better: m.better, a: ma, b: mb, noise, verdict });
    }
  }
  return changes;
}

export function compareRuns(a: RunResult, b: RunResult): Change[] {
  if (a.scenario !== b.scenario) throw new Error(`cannot compare ${a.scenario} with ${b.scenario}`);
  return compareSamples(samplesOf(a), samplesOf(b));
}
