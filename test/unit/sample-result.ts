// A small, hand-made result.json for tests of reports, gates and comparisons.
import type { ContenderName } from '../../harness/src/contenders/types.js';
import { aggregate, type RunResult } from '../../harness/src/result.js';
import type { StreamRecord } from '../../harness/src/measure.js';

export interface SampleFigures {
  lost?: number;
  duplicates?: number;
  reordered?: number;
  latencyUs?: number;
}

function stream(stream: number, sent: number, f: SampleFigures): StreamRecord {
  const lost = f.lost ?? 0;
  const us = (f.latencyUs ?? 40) * 1000;
  return {
    stream,
    group: `239.2.0.${stream}`,
    sent,
    received: sent - lost + (f.duplicates ?? 0),
    unique: sent - lost,
    lost,
    lossPct: (lost / sent) * 100,
    duplicates: f.duplicates ?? 0,
    reordered: f.reordered ?? 0,
    corrupted: 0,
    misdelivered: 0,
    latencyNs: { p50: us, p90: us * 1.5, p99: us * 2, p999: us * 3, max: us * 4, mean: us },
    attribution: { generatorErrors: 0, contenderIngressDrops: 0, contenderEgressErrors: 0, sinkOverflow: 0, unexplained: lost },
  };
}

export function sampleResult(relay: SampleFigures = {}, options: { repetitions?: number; jitter?: number } = {}): RunResult {
  const steps = [1, 2, 5].map((n) => ({
    step: String(n),
    params: { streams: n, workers: 2, fanout: 'hash' },
    runs: (['relay', 'socat', 'kernel'] as ContenderName[]).flatMap((contender) =>
      Array.from({ length: options.repetitions ?? 1 }, (_, rep) => {
        const figures = contender === 'relay' ? relay : { latencyUs: contender === 'kernel' ? 15 : 30 + rep * (options.jitter ?? 0) };
        const streams = Array.from({ length: n }, (_, i) => stream(i + 1, 1000, figures));
        return {
          contender,
          status: 'ok' as const,
          repetition: rep + 1,
          sinkJoined: contender === 'kernel' ? ('inputs' as const) : ('outputs' as const),
          params: { streams: n, workers: 2, fanout: 'hash' },
          streams,
          aggregate: aggregate(streams, 1, contender === 'kernel' ? null : 0.1 * n),
          report: {
            commands: [`${contender} --example`],
            cpuSeconds: 0.1,
            counters: contender === 'relay' ? { workers: [{ index: 0, rx: 600 * n }, { index: 1, rx: 400 * n }] } : {},
          },
        };
      }),
    ),
  }));
  return {
    schema: 'mcr-result',
    schemaVersion: 1,
    runId: 'sample-run',
    scenario: 'multi-stream',
    command: 'npm run scenario multi-stream -- 5',
    startedAt: '2026-11-24T00:00:00.000Z',
    finishedAt: '2026-11-24T00:01:00.000Z',
    parameters: { n: 5 },
    environment: { hostname: 'h', kernel: 'Linux 6.1 x86_64', cpuModel: 'cpu', cpuCount: 2, memoryGiB: 24, node: 'v20', mcr: '0.1.0', git: { commit: 'abc', dirty: false }, tools: { socat: 'socat version 1.7' }, sysctls: {} },
    calibration: { size: 512, ratePps: 250000, streams: 1 },
    steps,
    checks: [],
    verdict: 'pass',
  };
}
