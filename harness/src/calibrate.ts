// The instrument's own ceiling: the highest rate generator -> sink sustains with zero loss straight
// over one veth pair. Results near this rate measure the instrument, not the contender.
import { createPair } from '../../netns/topology.js';
import { fitsOneFrame, runGenerator } from './generator.js';
import { startSink } from './sink.js';
import type { CpuPlacement } from './placement.js';
import { type Family } from './streams.js';
import { endpoint } from '../../relay/src/api.js';

export interface CalibrationOptions {
  size: number;
  streams?: number;
  /** Generator sender threads (capped at streams). */
  threads?: number;
  /** Length of each probe in seconds. */
  probeSeconds?: number;
  /** Bisection steps after the first unpaced probe. */
  iterations?: number;
  onProbe?(ratePps: number, lost: number): void;
  /** MTU of the veth pair (default 1500). */
  mtu?: number;
  /** IP version of the probe streams (default 4): an IPv6 run's ceiling is lower. */
  family?: Family;
  /** The generator's and the sink's cores (--cpus), as the scenario places them. */
  cpus?: CpuPlacement;
}

export interface CalibrationResult { size: number; ratePps: number; streams: number; threads: number }

export async function calibrate(o: CalibrationOptions): Promise<CalibrationResult> {
  const streams = Array.from({ length: o.streams ?? 1 }, (_, i) => endpoint(o.family === 6 ? `ff15::250:${i + 1}` : `239.250.0.${i + 1}`, 5000));
  const probeSeconds = o.probeSeconds ?? 0.5;
  // mcr-gen caps its threads at the number of streams.
  const threads = Math.min(o.threads ?? 1, streams.length);
  const pair = await createPair({ mtu: o.mtu });
  let runId = 1000;
  try {
    // Sends at an aggregate rate (0 = unpaced) and returns [achieved aggregate rate, packets lost].
    const probe = async (aggregatePps: number): Promise<[number, number]> => {
      runId++;
      const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams, runId, idleTimeoutMs: 300, maxWaitMs: 60_000, cpus: o.cpus?.sink });
      const perStream = aggregatePps / streams.length;
      const count = aggregatePps > 0 ? Math.max(100, Math.round(perStream * probeSeconds)) : 200_000;
      const packet = fitsOneFrame(o.size, o.mtu ?? 1500, o.family ?? 4); // as the scenarios send
      const gen = await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams, rate: perStream, count, size: o.size, runId, warmup: 0, threads, packet, cpus: o.cpus?.generator });
      const got = await sink.done;
      const unique = got.streams.reduce((n, s) => n + s.unique, 0);
      const lost = gen.totalSent - unique + gen.streams.reduce((n, s) => n + s.errorCount, 0);
      const achieved = gen.measuredSeconds > 0 ? gen.totalSent / gen.measuredSeconds : gen.totalSent / gen.elapsedSec;
      o.onProbe?.(aggregatePps || achieved, lost);
      return [achieved, lost];
    };
    const [unpaced, unpacedLost] = await probe(0);
    if (unpacedLost === 0) return { size: o.size, ratePps: Math.round(unpaced), streams: streams.length, threads };
    let good = 0;
    let bad = unpaced;
    for (let i = 0; i < (o.iterations ?? 6); i++) {
      const rate = Math.round((good + bad) / 2 / 1000) * 1000 || Math.round((good + bad) / 2);
      const [, lost] = await probe(rate);
      if (lost === 0) good = rate;
      else bad = rate;
    }
    return { size: o.size, ratePps: good, streams: streams.length, threads };
  } finally {
    await pair.destroy();
  }
}
