// A small, hand-made result.json for tests of reports, gates and comparisons.
import type { ContenderName } from '../../harness/src/contenders/types.js';
import { lossPercent, type StreamRecord } from '../../harness/src/measure.js';
import { aggregate, type ContenderRun, type RunResult } from '../../harness/src/result.js';

export interface SampleFigures {
  lost?: number;
  duplicates?: number;
  reordered?: number;
  misdelivered?: number;
  latencyUs?: number;
  /** Packets sent per stream (default 1000). */
  sent?: number;
  /** CPU seconds per stream in the step (relay default 0.05, socat 0.2). */
  cpuPerStream?: number;
  /** Groups the snooping bridge saw joined (default: all). */
  igmpJoined?: number;
  /** Longest run of missing packets per stream (default: the lost ones in one run). */
  longestGap?: number;
  /** Latency windows of 100 packets or more (default 10: 1000 packets/s for 1 s); their median p99 is the streams' p99. */
  latencyWindows?: number;
}

function stream(stream: number, f: SampleFigures): StreamRecord {
  const sent = f.sent ?? 1000;
  const lost = f.lost ?? 0;
  const us = (f.latencyUs ?? 40) * 1000;
  return {
    stream,
    group: `239.2.0.${stream}`,
    sent,
    expected: sent,
    received: sent - lost + (f.duplicates ?? 0),
    unique: sent - lost,
    lost,
    lossPct: lossPercent(lost, sent),
    duplicates: f.duplicates ?? 0,
    reordered: f.reordered ?? 0,
    corrupted: 0,
    misdelivered: f.misdelivered ?? 0,
    gaps: lost > 0 ? 1 : 0,
    longestGap: f.longestGap ?? lost,
    outageMs: f.longestGap ?? lost, // at 1000 packets/s a packet is a millisecond
    latencyNs: { p50: us, p90: us * 1.5, p99: us * 2, p999: us * 3, max: us * 4, mean: us },
    attribution: { generatorErrors: 0, contenderIngressDrops: 0, contenderEgressErrors: 0, sinkOverflow: 0, unexplained: lost },
  };
}

export interface SampleOptions {
  repetitions?: number;
  /** Added to socat's latency per repetition (µs), to make noise. */
  jitter?: number;
  /** Contenders that were skipped instead of run. */
  skipped?: ContenderName[];
  required?: ContenderName[];
  /** The relay's figures in one repetition only (the others keep the default ones). */
  relayInRepetition?: { repetition: number; figures: SampleFigures };
}

export function sampleResult(relay: SampleFigures = {}, options: SampleOptions = {}): RunResult {
  const steps = [1, 2, 5].map((n) => ({
    step: String(n),
    x: n,
    params: { streams: n, workers: 2, fanout: 'hash' },
    runs: (['relay', 'socat', 'kernel'] as ContenderName[]).flatMap((contender) =>
      Array.from({ length: options.repetitions ?? 1 }, (_, rep): ContenderRun => {
        const base = { contender, series: contender, repetition: rep + 1, sinkJoined: contender === 'kernel' ? ('inputs' as const) : ('outputs' as const), params: { streams: n, workers: 2, fanout: 'hash' } };
        if (options.skipped?.includes(contender)) return { ...base, status: 'skipped', reason: `${contender} not found` };
        const relayHere = options.relayInRepetition?.repetition === rep + 1 ? options.relayInRepetition.figures : relay;
        const figures: SampleFigures = contender === 'relay' ? relayHere : { latencyUs: contender === 'kernel' ? 15 : 30 + rep * (options.jitter ?? 0), cpuPerStream: 0.2, sent: relay.sent };
        const streams = Array.from({ length: n }, (_, i) => stream(i + 1, figures));
        const cpu = contender === 'kernel' ? null : (figures.cpuPerStream ?? 0.05) * n;
        return {
          ...base,
          status: 'ok',
          streams,
          aggregate: { ...aggregate(streams, 1, cpu), windowedTail: { ms: 100, windows: figures.latencyWindows ?? 10, p99Ns: (figures.latencyUs ?? 40) * 2000 } },
          igmp: { groups: n, joined: Math.min(n, figures.igmpJoined ?? n), waitedMs: 20, bridgeSettledMs: 700 },
          report: {
            commands: [`${contender} --example`],
            counters: contender === 'relay' ? { workers: [{ index: 0, rx: 600 * n }, { index: 1, rx: 400 * n }] } : {},
          },
        };
      }),
    ),
  }));
  return {
    schema: 'mcr-result',
    schemaVersion: 2,
    runId: 'sample-run',
    scenario: 'multi-stream',
    command: 'npm run scenario multi-stream -- 5',
    startedAt: '2026-11-24T00:00:00.000Z',
    finishedAt: '2026-11-24T00:01:00.000Z',
    parameters: { n: 5 },
    topology: 'snooping',
    required: options.required ?? ['relay'],
    presentation: { xTitle: 'streams', xLog: true, charts: ['loss', 'delivered', 'latency', 'cpu-per-packet', 'attribution'] },
    environment: { hostname: 'h', kernel: 'Linux 6.1 x86_64', cpuModel: 'cpu', cpuCount: 2, memoryGiB: 24, node: 'v20', mcr: '0.1.0', git: { commit: 'abc', dirty: false }, tools: { socat: 'socat version 1.7' }, sysctls: {} },
    calibration: { size: 512, ratePps: 250000, streams: 1, threads: 1 },
    steps,
    scenarioChecks: [],
    checks: [],
    verdict: 'pass',
  };
}
