// One metrics record per stream from what the generator sent and the sink counted, with loss
// attributed by stage so a slow sink or a busy generator is never blamed on the contender.
import type { GenSummary } from './generator.js';
import type { LatencySummary, SinkSummary } from './sink.js';

export interface Attribution {
  generatorErrors: number;
  contenderIngressDrops: number;
  contenderEgressErrors: number;
  sinkOverflow: number;
  unexplained: number;
}

export interface StreamRecord {
  stream: number;
  group: string;
  sent: number;
  received: number;
  unique: number;
  /** Packets known to exist (sequence numbers the generator used, or the highest seen) that never arrived. */
  lost: number;
  lossPct: number;
  duplicates: number;
  reordered: number;
  corrupted: number;
  misdelivered: number;
  latencyNs: LatencySummary;
  attribution: Attribution;
}

export interface ContenderCounters {
  ingressDrops?: number;
  egressErrors?: number;
}

/**
 * Merges per stream. Stage counters known only in aggregate (contender drops, sink overflow) are
 * spread over streams in proportion to their loss, then capped so the stages never explain more
 * than was lost.
 */
export function measure(gen: GenSummary, sink: SinkSummary, contender: ContenderCounters = {}): StreamRecord[] {
  const byStream = new Map(sink.streams.map((s) => [s.stream, s]));
  const base = gen.streams.map((g) => {
    const s = byStream.get(g.stream);
    const unique = s?.unique ?? 0;
    const known = Math.max(g.sent, g.sequenced ?? 0, (s?.maxSeq ?? -1) + 1);
    return { g, s, unique, lost: Math.max(0, known - unique), known };
  });
  const totalLost = base.reduce((n, b) => n + b.lost, 0);
  const share = (total: number | undefined, lost: number) => (total && totalLost > 0 ? Math.round((total * lost) / totalLost) : 0);

  return base.map(({ g, s, unique, lost, known }) => {
    let left = lost;
    const take = (n: number) => {
      const t = Math.min(left, n);
      left -= t;
      return t;
    };
    const generatorErrors = take(g.errorCount);
    const sinkOverflow = take(s?.overflowDrops ?? 0);
    const contenderIngressDrops = take(share(contender.ingressDrops, lost));
    const contenderEgressErrors = take(share(contender.egressErrors, lost));
    return {
      stream: g.stream,
      group: g.group,
      sent: g.sent,
      received: s?.received ?? 0,
      unique,
      lost,
      lossPct: known > 0 ? (lost / known) * 100 : 0,
      duplicates: s?.duplicates ?? 0,
      reordered: s?.reordered ?? 0,
      corrupted: s?.corrupted ?? 0,
      misdelivered: s?.misdelivered ?? 0,
      latencyNs: s?.latencyNs ?? { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 },
      attribution: { generatorErrors, contenderIngressDrops, contenderEgressErrors, sinkOverflow, unexplained: left },
    };
  });
}
