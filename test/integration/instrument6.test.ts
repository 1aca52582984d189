// The instrument over IPv6, generator straight to sink over one veth pair: the same accounting as
// over IPv4, hop limit and traffic class reported where TTL and TOS are, a mix of families refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createPair, type Pair } from '../../netns/topology.js';
import { GEN_BIN, SINK_BIN } from '../../harness/src/binaries.js';
import { runGenerator, type GenOptions } from '../../harness/src/generator.js';
import { measure } from '../../harness/src/measure.js';
import { startSink } from '../../harness/src/sink.js';
import { udpChecksumErrors, udpInDatagrams } from '../../harness/src/contenders/procnet.js';
import { endpoint } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';

const reason = skipReason();
announceSkip('instrument IPv6 integration', reason);

const udp6InDatagrams = (ns: string) => udpInDatagrams(ns, 6);

describe.skipIf(reason)('instrument over IPv6', () => {
  let pair: Pair;
  let runId = 600;
  beforeAll(async () => {
    pair = await createPair();
  });
  afterAll(async () => {
    await pair?.destroy();
  });

  async function roundTrip(streams: string[], gen: Partial<GenOptions>) {
    runId++;
    const sink = await startSink(pair.sink.ns, { interface: pair.sink.ifname, streams, runId, idleTimeoutMs: 600, maxWaitMs: 60_000 });
    const g = await runGenerator(pair.gen.ns, { interface: pair.gen.ifname, streams, rate: 2000, count: 3000, size: 200, runId, ...gen });
    return { gen: g, sink: await sink.done };
  }

  const three = ['ff15::9:1', 'ff15::9:2', 'ff15::9:3'].map((g) => endpoint(g, 6000));

  it('counts every packet once, agrees with the kernel (Udp6InDatagrams), and reports hop limit and traffic class', async () => {
    expect(three[0]).toBe('[ff15::9:1]:6000');
    const before = await udp6InDatagrams(pair.sink.ns);
    const { gen, sink } = await roundTrip(three, { ttl: 5, tos: 185, source: pair.gen.addr6, warmup: 50 });
    const after = await udp6InDatagrams(pair.sink.ns);
    for (const r of measure(gen, sink)) expect(r).toMatchObject({ sent: 3000, received: 3000, unique: 3000, lost: 0, duplicates: 0, reordered: 0, corrupted: 0, misdelivered: 0 });
    expect(sink).toMatchObject({ foreign: 0, unknownStream: 0, overflowDrops: 0 });
    expect(sink.streams.map((s) => s.group)).toEqual(['ff15::9:1', 'ff15::9:2', 'ff15::9:3']);
    for (const s of sink.streams) expect(s).toMatchObject({ warmup: 50, ttl: { min: 5, max: 5 }, tos: { min: 185, max: 185 } });
    expect(sink.streams.reduce((n, s) => n + s.received + s.warmup, 0)).toBe(after - before);
    expect(sink.streams[0].latencyNs.p50).toBeGreaterThan(0);
  });

  it.each([
    ['dup:50', 'dup', (s: { duplicates: number }) => s.duplicates],
    ['swap:10', 'swap', (s: { reordered: number }) => s.reordered],
    ['corrupt:25', 'corrupt', (s: { corrupted: number }) => s.corrupted],
  ] as const)('detects --fault %s with the exact count injected', async (fault, kind, pick) => {
    const { gen, sink } = await roundTrip(three, { fault, count: 1000 });
    const injected = gen.faults[kind];
    expect(injected).toBe(3 * Math.floor(1000 / Number(fault.split(':')[1])));
    for (const s of sink.streams) expect(pick(s as never)).toBe(injected / 3);
  });

  it('detects --fault skip:20 (dropped packets) as exactly that many lost', async () => {
    const { gen, sink } = await roundTrip(three, { fault: 'skip:20', count: 1000 });
    expect(gen.faults.skip).toBe(150);
    expect(measure(gen, sink).reduce((n, r) => n + r.lost, 0)).toBe(150);
  });

  it('--packet: frames built by the generator (source: the link\'s global address) arrive whole with checksums the receiver verifies', async () => {
    const errorsBefore = await udpChecksumErrors(pair.sink.ns, 6);
    const { gen, sink } = await roundTrip(three, { packet: true, ttl: 5, tos: 185, size: 511, count: 500 });
    for (const r of measure(gen, sink)) expect(r).toMatchObject({ sent: 500, unique: 500, lost: 0, duplicates: 0, corrupted: 0 });
    for (const s of sink.streams) expect(s).toMatchObject({ ttl: { min: 5, max: 5 }, tos: { min: 185, max: 185 } });
    expect(await udpChecksumErrors(pair.sink.ns, 6)).toBe(errorsBefore);
  });

  it('carries datagrams larger than the MTU (IPv6 fragments) whole', async () => {
    const { gen, sink } = await roundTrip(three.slice(0, 1), { size: 4000, count: 500 });
    expect(measure(gen, sink)[0]).toMatchObject({ sent: 500, unique: 500, corrupted: 0, lost: 0 });
  });

  it('refuses a mix of IPv4 and IPv6 streams, and an IPv6 group without brackets (exit 2, saying why)', async () => {
    for (const bin of [GEN_BIN, SINK_BIN]) {
      const mixed = await execa(bin, ['--interface', 'lo', '--streams', '239.9.0.1:6000,[ff15::9:1]:6000'], { reject: false });
      expect(mixed.exitCode).toBe(2);
      expect(mixed.stderr).toContain('streams mix IPv4 and IPv6 (239.9.0.1:6000 and [ff15::9:1]:6000)');
      const bare = await execa(bin, ['--interface', 'lo', '--streams', 'ff15::9:1:6000'], { reject: false });
      expect(bare.exitCode).toBe(2);
      expect(bare.stderr).toContain('an IPv6 group goes in brackets');
    }
  });
});
