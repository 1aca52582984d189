// mcr-gen's --threads and its measured send window, generator straight to sink over one veth pair.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPair, type Pair } from '../../netns/topology.js';
import { profileCount, runGenerator, type GenOptions } from '../../harness/src/generator.js';
import { measure } from '../../harness/src/measure.js';
import { startSink } from '../../harness/src/sink.js';
import { announceSkip, skipReason } from './env.js';

const reason = skipReason();
announceSkip('generator integration', reason);

describe.skipIf(reason)('mcr-gen threads and measured window over a veth pair', () => {
  let pair: Pair;
  let runId = 500;
  beforeAll(async () => {
    pair = await createPair();
  });
  afterAll(async () => {
    await pair?.destroy();
  });

  const four = ['239.7.0.1:6100', '239.7.0.2:6100', '239.7.0.3:6100', '239.7.0.4:6100'];

  async function roundTrip(gen: Partial<GenOptions>) {
    runId++;
    const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams: four, runId, idleTimeoutMs: 600, maxWaitMs: 60_000 });
    const g = await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams: four, rate: 2000, count: 2000, size: 200, runId, ...gen });
    return { gen: g, sink: await sink.done };
  }

  it('--profile: the steps set the count, every packet arrives once, and the schedule is kept (never ahead of it)', async () => {
    const profile = [{ seconds: 0.5, ratePps: 2000 }, { seconds: 0.5, ratePps: 8000 }, { seconds: 0.25, ratePps: 2000 }];
    const { gen, sink } = await roundTrip({ profile, threads: 2 });
    const perStream = profileCount(profile, four.length);
    expect(perStream).toBe(1375);
    for (const s of sink.streams) expect(s).toMatchObject({ unique: perStream, duplicates: 0, reordered: 0 });
    // Pacing waits for each packet's time: the last one of each stream goes no earlier than its
    // place on the curve, (1375 - 1) of 1375 packets in, just before 1.25 s (a lower bound only).
    for (const g of gen.streams) expect((g.lastSendNs - g.firstSendNs) / 1e9).toBeGreaterThan(1.2);
  });

  it('--threads 2: every measured packet of every stream arrives exactly once', async () => {
    const { gen, sink } = await roundTrip({ threads: 2, warmup: 50 });
    expect(gen.threads).toBe(2);
    for (const g of gen.streams) expect(g).toMatchObject({ sent: 2000, sequenced: 2000, warmupSent: 50, errorCount: 0 });
    for (const s of sink.streams) expect(s).toMatchObject({ received: 2000, unique: 2000, duplicates: 0, corrupted: 0, misdelivered: 0, warmup: 50, maxSeq: 1999 });
    for (const r of measure(gen, sink)) expect(r).toMatchObject({ sent: 2000, unique: 2000, lost: 0, duplicates: 0 });
    expect(sink).toMatchObject({ foreign: 0, unknownStream: 0, overflowDrops: 0 });

    // The measured window starts after the warm-up and is a property of the schedule: 2000 packets
    // per stream at 2000/s take (2000 - 1) / 2000 s.
    for (const g of gen.streams) {
      expect(g.measuredFirstSendNs).toBeGreaterThan(g.firstSendNs);
      expect(g.measuredLastSendNs).toBe(g.lastSendNs);
      expect(g.measuredLastSendNs).toBeGreaterThan(g.measuredFirstSendNs);
    }
    expect(gen.measuredFirstSendNs).toBe(Math.min(...gen.streams.map((g) => g.measuredFirstSendNs)));
    expect(gen.measuredLastSendNs).toBe(Math.max(...gen.streams.map((g) => g.measuredLastSendNs)));
    expect(gen.measuredSeconds).toBeCloseTo((gen.measuredLastSendNs - gen.measuredFirstSendNs) / 1e9, 6);
    expect(gen.measuredSeconds).toBeGreaterThan(0.8);
    expect(gen.measuredSeconds).toBeLessThan(1.2);
  });

  it('without warm-up the measured window is the whole send window', async () => {
    const { gen } = await roundTrip({ count: 200, rate: 1000 });
    expect(gen.threads).toBe(1);
    for (const g of gen.streams) expect(g).toMatchObject({ measuredFirstSendNs: g.firstSendNs, measuredLastSendNs: g.lastSendNs });
  });

  it('--threads is capped at the number of streams', async () => {
    runId++;
    const gen = await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams: four.slice(0, 1), rate: 1000, count: 10, size: 64, runId, threads: 8 });
    expect(gen.threads).toBe(1);
    expect(gen.streams[0].sent).toBe(10);
  });

  it('--threads 2 interrupted: each thread stops after a whole round of its streams, nothing lost', async () => {
    runId++;
    const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams: four, runId, idleTimeoutMs: 600, maxWaitMs: 60_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 700);
    const gen = await runGenerator(pair.gen.ns, {
      interface: pair.gen.ifname, streams: four, rate: 1000, count: 100_000, size: 64, runId, threads: 2, fault: 'swap:4', signal: abort.signal,
    });
    const got = await sink.done;
    expect(gen.interrupted).toBe(true);
    // Thread 0 sends streams 1 and 3, thread 1 streams 2 and 4.
    const [a, b, c, d] = gen.streams.map((s) => s.sequenced);
    expect(a).toBeGreaterThan(100);
    expect(b).toBeLessThan(100_000);
    expect(c).toBe(a);
    expect(d).toBe(b);
    for (const r of measure(gen, got)) expect(r).toMatchObject({ lost: 0, duplicates: 0 });
    expect(got.streams.reduce((t, s) => t + s.reordered, 0)).toBe(gen.faults.swap);
  });

  it('--fault dup:100 injects the same duplicates with 2 threads as with 1', async () => {
    const counts = [];
    for (const threads of [1, 2]) {
      const { gen, sink } = await roundTrip({ threads, count: 1000, fault: 'dup:100' });
      expect(gen.threads).toBe(threads);
      expect(gen.faults.dup).toBe(4 * 10);
      expect(sink.streams.reduce((n, s) => n + s.duplicates, 0)).toBe(gen.faults.dup);
      for (const s of sink.streams) expect(s).toMatchObject({ unique: 1000, duplicates: 10 });
      counts.push(gen.faults);
    }
    expect(counts[1]).toEqual(counts[0]);
  });
});
