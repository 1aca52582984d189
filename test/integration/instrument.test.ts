// The instrument itself, generator straight to sink over one veth pair.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPair, type Pair } from '../../netns/topology.js';
import { runGenerator, type GenOptions } from '../../harness/src/generator.js';
import { measure, windowedTail } from '../../harness/src/measure.js';
import { startSink } from '../../harness/src/sink.js';
import { $ } from 'zx';
import { udpChecksumErrors, udpInDatagrams } from '../../harness/src/contenders/procnet.js';
import { announceSkip, skipReason } from './env.js';
import { cpusAllowedList } from '../../harness/src/placement.js';

const reason = skipReason();
announceSkip('instrument integration', reason);

describe.skipIf(reason)('instrument over a veth pair', () => {
  let pair: Pair;
  let runId = 100;
  beforeAll(async () => {
    pair = await createPair();
  });
  afterAll(async () => {
    await pair?.destroy();
  });

  async function roundTrip(streams: string[], gen: Partial<GenOptions>, extra: { streamsFile?: string } = {}) {
    runId++;
    const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams, runId, idleTimeoutMs: 600, maxWaitMs: 60_000, ...extra });
    const g = await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams, rate: 2000, count: 3000, size: 200, runId, ...gen, ...extra });
    return { gen: g, sink: await sink.done };
  }

  const three = ['239.9.0.1:6000', '239.9.0.2:6000', '239.9.0.3:6000'];

  it('loses nothing at a moderate rate, and agrees with the kernel (Udp InDatagrams)', async () => {
    const before = await udpInDatagrams(pair.sink.ns);
    const { gen, sink } = await roundTrip(three, {});
    const after = await udpInDatagrams(pair.sink.ns);
    const records = measure(gen, sink);
    for (const r of records) expect(r).toMatchObject({ sent: 3000, received: 3000, unique: 3000, lost: 0, duplicates: 0, reordered: 0, corrupted: 0 });
    for (const g of gen.streams) expect(g).toMatchObject({ sent: 3000, sequenced: 3000, errorCount: 0 });
    expect(sink).toMatchObject({ foreign: 0, unknownStream: 0, overflowDrops: 0 });
    expect(sink.streams.reduce((n, s) => n + s.received, 0)).toBe(after - before);
    // 9000 packets at 6000 packets/s in total: paced, not bursted.
    expect(gen.elapsedSec).toBeGreaterThan(1.4);
    expect(sink.streams[0].latencyNs.p50).toBeGreaterThan(0);
    // The latency per 100 ms of send time, all streams: 1.5 s of sending fills about 15 windows
    // of about 600 packets (the first, before the first packet, is empty), every packet in one.
    const w = sink.latencyWindows!;
    expect(w.ms).toBe(100);
    expect(w.counts.reduce((n, c) => n + c, 0)).toBe(9000);
    expect(w.counts.filter((c) => c >= 100).length).toBeGreaterThanOrEqual(14);
    const tail = windowedTail(w)!;
    expect(tail.windows).toBe(w.counts.filter((c) => c >= 100).length);
    expect(tail.p99Ns).toBeGreaterThanOrEqual(sink.streams[0].latencyNs.p50);
    expect(sink.cpus).toBe(cpusAllowedList('self'));
    expect(gen.cpus).toBe(cpusAllowedList('self'));
  });

  it('excludes warm-up packets from the counts', async () => {
    const { gen, sink } = await roundTrip(three.slice(0, 1), { warmup: 100, count: 500 });
    expect(gen.streams[0]).toMatchObject({ sent: 500, warmupSent: 100 });
    expect(sink.streams[0]).toMatchObject({ warmup: 100, unique: 500, received: 500 });
  });

  it('packets of another run are foreign and not counted', async () => {
    runId++;
    const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams: three, runId, idleTimeoutMs: 600, maxWaitMs: 60_000 });
    await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams: three, rate: 2000, count: 100, size: 64, runId: runId + 5000 });
    const got = await sink.done;
    expect(got.foreign).toBe(300);
    expect(got.streams.reduce((n, s) => n + s.received, 0)).toBe(0);
  });

  it('socket overflow at the sink is attributed to the sink, exactly', async () => {
    runId++;
    const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams: three, runId, idleTimeoutMs: 600, maxWaitMs: 60_000, rcvbuf: 4096 });
    process.kill(sink.pid!, 'SIGSTOP'); // a receiver that does not read: its socket buffer overflows
    let gen;
    try {
      gen = await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams: three, rate: 2000, count: 500, size: 1000, runId });
    } finally {
      process.kill(sink.pid!, 'SIGCONT');
    }
    const got = await sink.done;
    const records = measure(gen, got);
    const lost = records.reduce((n, r) => n + r.lost, 0);
    expect(lost).toBeGreaterThan(1000);
    expect(got.overflowDrops).toBe(lost);
    for (const r of records) expect(r.attribution).toMatchObject({ sinkOverflow: r.lost, unexplained: 0, generatorErrors: 0 });
  });

  it('an interrupted generator stops after a whole round and still reports: nothing counted lost', async () => {
    runId++;
    const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams: three, runId, idleTimeoutMs: 600, maxWaitMs: 60_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 700);
    const gen = await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams: three, rate: 1000, count: 100_000, size: 64, runId, fault: 'swap:4', signal: abort.signal });
    const got = await sink.done;
    expect(gen.interrupted).toBe(true);
    const n = gen.streams[0].sequenced;
    expect(n).toBeGreaterThan(100);
    expect(n).toBeLessThan(100_000);
    for (const g of gen.streams) expect(g.sequenced).toBe(n);
    for (const r of measure(gen, got)) expect(r).toMatchObject({ sent: n, unique: n, lost: 0 });
    expect(got.streams.reduce((t, s) => t + s.reordered, 0)).toBe(gen.faults.swap);
  });

  it.each([
    ['dup:50', 'dup', (s: { duplicates: number }) => s.duplicates],
    ['swap:10', 'swap', (s: { reordered: number }) => s.reordered],
    ['corrupt:25', 'corrupt', (s: { corrupted: number }) => s.corrupted],
  ] as const)('detects --fault %s with the exact count injected', async (fault, kind, pick) => {
    const { gen, sink } = await roundTrip(three, { fault, count: 1000 });
    const injected = gen.faults[kind];
    expect(injected).toBe(3 * Math.floor(1000 / Number(fault.split(':')[1])));
    expect(sink.streams.reduce((n, s) => n + pick(s as never), 0)).toBe(injected);
    for (const s of sink.streams) expect(pick(s as never)).toBe(injected / 3);
  });

  it('detects --fault skip:20 as exactly that many lost', async () => {
    const { gen, sink } = await roundTrip(three, { fault: 'skip:20', count: 1000 });
    const lost = measure(gen, sink).reduce((n, r) => n + r.lost, 0);
    expect(gen.faults.skip).toBe(150);
    expect(lost).toBe(gen.faults.skip);
  });

  it('--packet: frames built by the generator arrive whole with checksums the receiver verifies, TTL and TOS, and leave no neighbour entry', async () => {
    const groups = Array.from({ length: 20 }, (_, i) => `239.9.1.${i + 1}:6000`);
    const errorsBefore = await udpChecksumErrors(pair.sink.ns);
    const { gen, sink } = await roundTrip(groups, { packet: true, ttl: 5, tos: 185, size: 511, count: 500 });
    for (const r of measure(gen, sink)) expect(r).toMatchObject({ sent: 500, unique: 500, lost: 0, duplicates: 0, corrupted: 0 });
    for (const s of sink.streams) expect(s).toMatchObject({ ttl: { min: 5, max: 5 }, tos: { min: 185, max: 185 } });
    expect(await udpChecksumErrors(pair.sink.ns)).toBe(errorsBefore);
    const neighbours = (await $`ip -n ${pair.gen.ns} -4 neigh show nud all dev ${pair.gen.ifname}`).stdout;
    expect(neighbours).not.toMatch(/^239\.9\.1\./m);
  });

  it('1000 streams in one generator and one sink', async () => {
    const streams = Array.from({ length: 1000 }, (_, i) => `239.8.${Math.floor(i / 250)}.${(i % 250) + 1}:7000`);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mcr-streams-')), 'streams.txt');
    (await import('node:fs')).writeFileSync(file, streams.join('\n'));
    const { gen, sink } = await roundTrip(streams, { count: 20, rate: 50 }, { streamsFile: file });
    expect(gen.streams).toHaveLength(1000);
    expect(sink.streams.filter((s) => s.unique === 20)).toHaveLength(1000);
  });
});
