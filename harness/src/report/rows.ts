// Flat rows (one per step, contender and repetition) that charts, tables and gates read.
import type { Aggregate, RunResult } from '../result.js';
import { median } from '../stats.js';

type Counts = Pick<Aggregate, 'sent' | 'expected' | 'delivered' | 'lossPct' | 'duplicates' | 'duplicationRatio' | 'reordered' | 'corrupted' | 'misdelivered' | 'offeredPps' | 'deliveredPps' | 'outageMs'>;

export interface Row extends Counts {
  step: string;
  /** Position on the scenario's x axis. */
  x: number;
  /** Contender, or e.g. "relay/<fanout>" when a scenario varies the relay. */
  series: string;
  contender: string;
  fanout?: string;
  /** Planned negative control (gates skip it). */
  control?: string;
  /** Loss expected by design (loss gates skip it). */
  exemptFromLoss?: string;
  igmp?: { groups: number; joined: number };
  repetition: number;
  p50us: number;
  p99us: number;
  p999us: number;
  /** The typical window's p99 (measure.ts windowedTail), µs; null when the sink reported no windows. */
  windowP99us: number | null;
  /** Windows that p99 is the median of (0: none reported). */
  latencyWindows: number;
  cpuSeconds: number | null;
  cpuUsPerPacket: number | null;
  /** TTL and TOS the datagrams arrived with, as text ("7", "0xb9"; "-" when none arrived). */
  ttlOut: string;
  tosOut: string;
  attribution: Record<string, number>;
  /** Packets per worker (relay only): share of the load each worker took. */
  workerShares: { worker: number; packets: number; share: number }[];
}

function rangeText(range: { min: number; max: number } | undefined, show: (n: number) => string): string {
  if (!range) return '-';
  return range.min === range.max ? show(range.min) : `${show(range.min)}–${show(range.max)}`;
}

export function toRows(result: RunResult): Row[] {
  const rows: Row[] = [];
  for (const step of result.steps) {
    for (const run of step.runs) {
      if (run.status !== 'ok' || !run.aggregate) continue;
      const a = run.aggregate;
      const fanout = typeof run.params.fanout === 'string' && run.contender === 'relay' ? run.params.fanout : undefined;
      const workers = ((run.report?.counters as { workers?: { index: number; rx: number }[] } | undefined)?.workers ?? []);
      const totalRx = workers.reduce((n, w) => n + w.rx, 0);
      rows.push({
        step: step.step,
        x: step.x,
        series: run.series,
        contender: run.contender,
        fanout,
        ...(run.control ? { control: run.control } : {}),
        ...(run.exemptFromLoss ? { exemptFromLoss: run.exemptFromLoss } : {}),
        ...(run.igmp ? { igmp: { groups: run.igmp.groups, joined: run.igmp.joined } } : {}),
        repetition: run.repetition,
        sent: a.sent,
        expected: a.expected,
        delivered: a.delivered,
        lossPct: a.lossPct,
        duplicates: a.duplicates,
        duplicationRatio: a.duplicationRatio,
        reordered: a.reordered,
        corrupted: a.corrupted,
        misdelivered: a.misdelivered,
        offeredPps: a.offeredPps,
        deliveredPps: a.deliveredPps,
        outageMs: a.outageMs ?? 0,
        p50us: a.latencyNs.p50 / 1000,
        p99us: a.latencyNs.p99 / 1000,
        p999us: a.latencyNs.p999 / 1000,
        windowP99us: a.windowedTail ? a.windowedTail.p99Ns / 1000 : null,
        latencyWindows: a.windowedTail?.windows ?? 0,
        cpuSeconds: a.cpuSeconds,
        cpuUsPerPacket: a.cpuUsPerPacket,
        attribution: { ...a.attribution },
        ttlOut: rangeText(a.ttl, (n) => String(n)),
        tosOut: rangeText(a.tos, (n) => `0x${n.toString(16).padStart(2, '0')}`),
        workerShares: workers.map((w) => ({ worker: w.index, packets: w.rx, share: totalRx > 0 ? w.rx / totalRx : 0 })),
      });
    }
  }
  return rows;
}


/** The rows of each (step, series), one per repetition, in the order the steps first appear. */
export function repetitionGroups(rows: Row[]): Row[][] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.step}|${r.series}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()];
}

/** One row per (step, series): the median over repetitions of each numeric metric. */
export function medianRows(rows: Row[]): Row[] {
  return repetitionGroups(rows).map((group) => {
    const first = group[0];
    const m = (pick: (r: Row) => number) => median(group.map(pick));
    const known = (pick: (r: Row) => number | null) => {
      const values = group.map(pick).filter((v): v is number => v !== null);
      return values.length ? median(values) : null;
    };
    return {
      ...first,
      repetition: -1,
      sent: m((r) => r.sent),
      expected: m((r) => r.expected),
      delivered: m((r) => r.delivered),
      lossPct: m((r) => r.lossPct),
      duplicates: m((r) => r.duplicates),
      duplicationRatio: m((r) => r.duplicationRatio),
      reordered: m((r) => r.reordered),
      corrupted: m((r) => r.corrupted),
      misdelivered: m((r) => r.misdelivered),
      offeredPps: m((r) => r.offeredPps),
      deliveredPps: m((r) => r.deliveredPps),
      outageMs: m((r) => r.outageMs),
      p50us: m((r) => r.p50us),
      p99us: m((r) => r.p99us),
      p999us: m((r) => r.p999us),
      windowP99us: known((r) => r.windowP99us),
      latencyWindows: m((r) => r.latencyWindows),
      cpuSeconds: known((r) => r.cpuSeconds),
      cpuUsPerPacket: known((r) => r.cpuUsPerPacket),
      attribution: Object.fromEntries(Object.keys(first.attribution).map((k) => [k, m((r) => r.attribution[k] ?? 0)])),
    };
  });
}
