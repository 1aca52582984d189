// Flat rows (one per step, contender and repetition) that charts, tables and gates read.
import type { Aggregate, RunResult } from '../result.js';
import { median } from '../stats.js';

type Counts = Pick<Aggregate, 'sent' | 'delivered' | 'lossPct' | 'duplicates' | 'duplicationRatio' | 'reordered' | 'corrupted' | 'deliveredPps'>;

export interface Row extends Counts {
  step: string;
  /** Streams in the step (multi-stream) or workers (multi-worker). */
  x: number;
  /** Contender, or "relay/<fanout>" when a scenario varies the fanout mode. */
  series: string;
  contender: string;
  fanout?: string;
  repetition: number;
  p50us: number;
  p99us: number;
  p999us: number;
  cpuSeconds: number | null;
  attribution: Record<string, number>;
  /** Packets per worker (relay only): share of the load each worker took. */
  workerShares: { worker: number; packets: number; share: number }[];
}

export function toRows(result: RunResult): Row[] {
  const rows: Row[] = [];
  for (const step of result.steps) {
    for (const run of step.runs) {
      if (run.status !== 'ok' || !run.aggregate) continue;
      const a = run.aggregate;
      const fanout = typeof run.params.fanout === 'string' && run.contender === 'relay' ? run.params.fanout : undefined;
      const x = Number(result.scenario === 'multi-worker' ? step.params.workers : result.scenario === 'throughput' ? step.params.offeredPps : step.params.streams);
      const workers = ((run.report?.counters as { workers?: { index: number; rx: number }[] } | undefined)?.workers ?? []);
      const totalRx = workers.reduce((n, w) => n + w.rx, 0);
      rows.push({
        step: step.step,
        x,
        series: result.scenario === 'multi-worker' && fanout ? `relay/${fanout}` : run.contender,
        contender: run.contender,
        fanout,
        repetition: run.repetition,
        sent: a.sent,
        delivered: a.delivered,
        lossPct: a.lossPct,
        duplicates: a.duplicates,
        duplicationRatio: a.duplicationRatio,
        reordered: a.reordered,
        corrupted: a.corrupted,
        deliveredPps: a.deliveredPps,
        p50us: a.latencyNs.p50 / 1000,
        p99us: a.latencyNs.p99 / 1000,
        p999us: a.latencyNs.p999 / 1000,
        cpuSeconds: a.cpuSeconds,
        attribution: { ...a.attribution },
        workerShares: workers.map((w) => ({ worker: w.index, packets: w.rx, share: totalRx > 0 ? w.rx / totalRx : 0 })),
      });
    }
  }
  return rows;
}


/** One row per (step, series): the median over repetitions of each numeric metric. */
export function medianRows(rows: Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.step}|${r.series}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0];
    const m = (pick: (r: Row) => number) => median(group.map(pick));
    const cpu = group.map((r) => r.cpuSeconds).filter((v): v is number => v !== null);
    return {
      ...first,
      repetition: -1,
      sent: m((r) => r.sent),
      delivered: m((r) => r.delivered),
      lossPct: m((r) => r.lossPct),
      duplicates: m((r) => r.duplicates),
      duplicationRatio: m((r) => r.duplicationRatio),
      reordered: m((r) => r.reordered),
      corrupted: m((r) => r.corrupted),
      deliveredPps: m((r) => r.deliveredPps),
      p50us: m((r) => r.p50us),
      p99us: m((r) => r.p99us),
      p999us: m((r) => r.p999us),
      cpuSeconds: cpu.length ? median(cpu) : null,
      attribution: Object.fromEntries(Object.keys(first.attribution).map((k) => [k, m((r) => r.attribution[k] ?? 0)])),
    };
  });
}
