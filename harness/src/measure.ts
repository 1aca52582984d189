// One metrics record per stream from what the generator sent and the sink counted, with loss
// attributed by stage so a slow sink or a busy generator is never blamed on the contender.
import type { GenSummary } from './generator.js';
import type { LatencySummary, LatencyWindows, SinkSummary } from './sink.js';
import { median } from './stats.js';

export interface Attribution {
  generatorErrors: number;
  contenderIngressDrops: number;
  contenderEgressErrors: number;
  sinkOverflow: number;
  unexplained: number;
}

/**
 * The one definition of loss used everywhere: packets known to exist that never arrived, as a
 * share of the packets known to exist. 0 when nothing was expected (gates fail such a step apart).
 */
export function lossPercent(lost: number, expected: number): number {
  return expected > 0 ? (lost / expected) * 100 : 0;
}

/**
 * The one definition of an outage: the longest run of consecutive missing packets of a stream,
 * as time at the rate the stream was sent (packets never resumed count to the end).
 */
export function outageMs(longestGap: number, streamPps: number): number {
  return streamPps > 0 ? (longestGap / streamPps) * 1000 : 0;
}

/** A window's p99 is its worst 1 in 100: fewer packets than this and it is the window's max. */
export const MIN_WINDOW_PACKETS = 100;

export interface WindowedTail {
  /** Window length, ms. */
  ms: number;
  /** Windows of MIN_WINDOW_PACKETS or more. */
  windows: number;
  /** The median over those windows of each window's p99, ns. */
  p99Ns: number;
}

/**
 * A typical window's tail: the median over the windows of send time of each window's p99. A
 * scheduling stall of the shared machine sets the p99 of the windows it falls in, and with them the
 * whole run's p99; it sets this only when it covers half the windows. A contender that adds latency
 * to most packets adds it to most windows, so this shows it.
 */
export function windowedTail(w: LatencyWindows | undefined): WindowedTail | undefined {
  if (!w) return undefined;
  const tails = w.p99Ns.filter((_, i) => (w.counts[i] ?? 0) >= MIN_WINDOW_PACKETS);
  return tails.length ? { ms: w.ms, windows: tails.length, p99Ns: median(tails) } : undefined;
}

export interface StreamRecord {
  stream: number;
  group: string;
  sent: number;
  /** Packets known to exist: sequence numbers the generator used (sent, refused or skipped), or the highest seen + 1. */
  expected: number;
  received: number;
  unique: number;
  /** expected − unique. */
  lost: number;
  /** lossPercent(lost, expected). */
  lossPct: number;
  duplicates: number;
  reordered: number;
  corrupted: number;
  misdelivered: number;
  /** Runs of consecutive missing packets, and the longest (a missing tail included), in packets. */
  gaps: number;
  longestGap: number;
  /** outageMs(longestGap) at the rate this stream was sent. */
  outageMs: number;
  /** IP TTL and TOS the stream's datagrams arrived with (absent when none arrived). */
  ttl?: { min: number; max: number };
  tos?: { min: number; max: number };
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
    // The sink sees gaps up to the highest packet it got; what was expected after that is a gap too.
    const tail = Math.max(0, known - 1 - (s?.maxSeq ?? -1));
    const sinkOverflow = take(s?.overflowDrops ?? 0);
    const contenderIngressDrops = take(share(contender.ingressDrops, lost));
    const contenderEgressErrors = take(share(contender.egressErrors, lost));
    return {
      stream: g.stream,
      group: g.group,
      sent: g.sent,
      expected: known,
      received: s?.received ?? 0,
      unique,
      lost,
      lossPct: lossPercent(lost, known),
      duplicates: s?.duplicates ?? 0,
      reordered: s?.reordered ?? 0,
      corrupted: s?.corrupted ?? 0,
      misdelivered: s?.misdelivered ?? 0,
      gaps: (s?.gaps ?? 0) + (tail > 0 ? 1 : 0),
      longestGap: Math.max(s?.longestGap ?? 0, tail),
      ...(s?.ttl ? { ttl: s.ttl } : {}),
      ...(s?.tos ? { tos: s.tos } : {}),
      outageMs: outageMs(Math.max(s?.longestGap ?? 0, tail), gen.measuredSeconds > 0 ? g.sent / gen.measuredSeconds : 0),
      latencyNs: s?.latencyNs ?? { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 },
      attribution: { generatorErrors, contenderIngressDrops, contenderEgressErrors, sinkOverflow, unexplained: left },
    };
  });
}
