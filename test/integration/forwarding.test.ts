// What the relay forwards besides plain datagrams, with real traffic: IP fragments (reassembled by
// the kernel for the fanout group, re-fragmented on the way out), TTL like a router's (and what
// that does to two relays feeding each other), DSCP/ECN carried or re-marked, source-specific
// multicast (two sources on one group, each where its rule says).
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { createPair, type Pair } from '../../netns/topology.js';
import { runGenerator } from '../../harness/src/generator.js';
import { startMcrd, type RunningMcrd } from '../../harness/src/mcrd.js';
import { startSink } from '../../harness/src/sink.js';
import { planStreams } from '../../harness/src/streams.js';
import { endpoint } from '../../relay/src/api.js';
import type { ChainOptions } from '../../netns/topology.js';
import { announceSkip, skipReason } from './env.js';
import { injectFrames } from './inject.js';
import { frame, ipv6Bytes } from '../../harness/src/frames.js';
import { ruleFor, startRig, type Rig } from './relay-rig.js';

const reason = skipReason();
announceSkip('forwarding completeness integration', reason);

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.destroy();
  rig = undefined;
});

type Stats = { totals: { ttlExpired: number; malformed: number; tx: number; txMessages: number }; dropped: Record<string, number> };

/** One stream through a fresh rig: what the sink counted, and the relay's stats. */
async function oneStream(args: string[], gen: { size?: number; ttl?: number; tos?: number; count?: number; rate?: number }, output: Record<string, unknown> = {}, chain: ChainOptions = {}) {
  rig = await startRig(args, chain);
  const c = rig.chain;
  const [s] = planStreams(1);
  const rule = ruleFor(c, s);
  await rig.mcrd.client.request('add', { rule: { ...rule, outputs: [{ ...rule.outputs[0], ...output }] } });
  const count = gen.count ?? 2000;
  const rate = gen.rate ?? 1000;
  const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: [`${s.outGroup}:${s.outPort}`], runId: 51, idleTimeoutMs: 1000, maxWaitMs: (count * 1000) / rate + 4000 });
  const sent = await runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: [`${s.inGroup}:${s.inPort}`], rate, count, size: gen.size ?? 256, ttl: gen.ttl, tos: gen.tos, runId: 51 });
  const got = (await sink.done).streams[0];
  return { sent: sent.totalSent, got, stats: await rig.mcrd.client.request<Stats>('stats') };
}

describe.skipIf(reason)('IP fragments', () => {
  it.each([
    ['2 workers, fanout hash', ['--workers', '2']],
    ["1 worker, fanout 'none'", ['--workers', '1', '--fanout', 'none']],
  ])('4000-byte datagrams over a 1500-byte MTU arrive whole (%s)', async (_what, args) => {
    const { sent, got, stats } = await oneStream(args, { size: 4000 });
    expect(sent).toBe(2000);
    expect(got).toMatchObject({ unique: 2000, duplicates: 0, corrupted: 0 });
    expect(stats.dropped.fragment).toBe(0);
  });

  it('8972-byte datagrams on a 9000-byte MTU path (jumbo frames)', async () => {
    const { got } = await oneStream(['--workers', '2'], { size: 8972 }, {}, { mtu: 9000 });
    expect(got).toMatchObject({ unique: 2000, duplicates: 0, corrupted: 0 });
  });
});

describe.skipIf(reason)('GSO egress', () => {
  it('a fast stream leaves in GSO messages of several datagrams and arrives whole, in order', async () => {
    // 100,000/s to one worker: it naps between batches, so each flush holds a run of the flow.
    const { sent, got, stats } = await oneStream(['--workers', '1'], { size: 512, count: 100000, rate: 100000 });
    expect(sent).toBe(100000);
    expect(got).toMatchObject({ unique: 100000, duplicates: 0, corrupted: 0, reordered: 0 });
    expect(stats.totals.tx).toBe(100000);
    expect(stats.totals.txMessages).toBeLessThan(stats.totals.tx / 2);
  });
});

describe.skipIf(reason)('VLAN', () => {
  it.each(['ring', 'blocks', 'mmsg'])('frames of a VLAN seen on its parent interface are counted, not forwarded (--ingress %s)', async (ingress) => {
    rig = await startRig(['--workers', '1', '--ingress', ingress]);
    const c = rig.chain;
    const [s] = planStreams(1);
    await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
    const to = { dst: [239, 1, 0, 1], payload: 100 };
    expect(`${to.dst.join('.')}:5000`).toBe(`${s.inGroup}:${s.inPort}`);
    // With no VLAN 7 interface here (this machine's kernel has none at all) the kernel takes the
    // tag off and hands the frame to the parent's sockets marked 'other host' — once forwarded as
    // if untagged. The untagged copy of the same frame is the control.
    await injectFrames(c.gen.ns, c.gen.ifname, [frame({ ...to, tags: [[0x8100, 7]] }), frame(to)], 100);
    await sleep(300);
    const stats = await rig.mcrd.client.request<Stats & { totals: { matched: number } }>('stats');
    expect(stats.dropped.vlan_tagged).toBe(100);
    expect(stats.totals.matched).toBe(100); // the untagged copy: the rule does match
  });
});

describe.skipIf(reason)('TTL', () => {
  it('output TTL = min(output TTL, input TTL - 1)', async () => {
    expect((await oneStream(['--workers', '1'], { ttl: 5, count: 200 })).got.ttl).toEqual({ min: 4, max: 4 });
    await rig!.destroy();
    rig = undefined;
    expect((await oneStream(['--workers', '1'], { ttl: 30, count: 200 }, { ttl: 3 })).got.ttl).toEqual({ min: 3, max: 3 });
  });

  it('a packet arriving with TTL 1 is not forwarded but counted; a fixed-TTL output forwards it', async () => {
    const expired = await oneStream(['--workers', '1'], { ttl: 1, count: 300 });
    expect(expired.got.unique).toBe(0);
    expect(expired.stats.totals.ttlExpired).toBe(300);
    await rig!.destroy();
    rig = undefined;
    const fixed = await oneStream(['--workers', '1'], { ttl: 1, count: 300 }, { ttl: 8, fixedTtl: true });
    expect(fixed.got).toMatchObject({ unique: 300, ttl: { min: 8, max: 8 } });
    expect(fixed.stats.totals.ttlExpired).toBe(0);
  });

  it('two relays feeding each other: the traffic dies out; with fixed TTLs (the negative control) it circulates', async () => {
    const circulate = async (fixedTtl: boolean) => {
      const pair: Pair = await createPair();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-loop-'));
      const relays: RunningMcrd[] = [];
      try {
        // A (gen ns) relays G1 -> G2 on its only link; B (sink ns) relays G2 -> G1 on the other end.
        for (const [host, from, to] of [[pair.gen, '239.77.0.1', '239.77.0.2'], [pair.sink, '239.77.0.2', '239.77.0.1']] as const) {
          const m = await startMcrd(host.ns, path.join(dir, `${host.ns}.sock`), ['--workers', '1', '--stats-interval', '0'], path.join(dir, `${host.ns}.log`));
          relays.push(m);
          await m.client.request('add', { rule: { inputInterface: host.ifname, inputGroup: from, inputPort: 5000, outputs: [{ group: to, port: 5000, interface: host.ifname, ttl: 16, ...(fixedTtl ? { fixedTtl } : {}) }] } });
        }
        // One packet of G1 with TTL 8, sent from B's side: A picks it up.
        await runGenerator(pair.sink.ns, { interface: pair.sink.ifname, streams: ['239.77.0.1:5000'], rate: 10, count: 1, size: 100, ttl: 8, runId: 52 });
        await sleep(1000);
        const counts = await Promise.all(relays.map((m) => m.client.request<Stats & { totals: { matched: number } }>('stats')));
        return { forwarded: counts.reduce((n, s) => n + s.totals.matched, 0), expired: counts.reduce((n, s) => n + s.totals.ttlExpired, 0) };
      } finally {
        for (const m of relays) {
          m.client.close();
          await m.stop();
        }
        await pair.destroy();
      }
    };
    // TTL 8 in: A sends 7, B 6, ... the hop that receives TTL 1 sends nothing.
    expect(await circulate(false)).toEqual({ forwarded: 8, expired: 1 });
    const loop = await circulate(true);
    expect(loop.forwarded).toBeGreaterThan(1000);
  });
});

describe.skipIf(reason)('DSCP and ECN', () => {
  it('the TOS byte is carried to the output, or the DSCP re-marked with ECN kept', async () => {
    // 0xb8 = DSCP 46 (EF), 0xb9 = EF with ECT(1).
    expect((await oneStream(['--workers', '1'], { tos: 0xb9, count: 200 })).got.tos).toEqual({ min: 0xb9, max: 0xb9 });
    await rig!.destroy();
    rig = undefined;
    expect((await oneStream(['--workers', '1'], { tos: 0xb9, count: 200 }, { dscp: 10 })).got.tos).toEqual({ min: (10 << 2) | 1, max: (10 << 2) | 1 });
  });
});

describe.skipIf(reason)('source-specific multicast', () => {
  it('two sources on one group: each delivered only where its rule says, with source-specific joins', async () => {
    rig = await startRig(['--workers', '2']);
    const c = rig.chain;
    const sources = [c.gen.addr, '10.251.1.3'];
    await $`ip -n ${c.gen.ns} addr add ${sources[1]}/24 dev ${c.gen.ifname}`;
    const group = '232.1.1.1';
    const outs = ['239.2.0.1', '239.2.0.2'];
    await rig.mcrd.client.request('apply', {
      add: sources.map((source, i) => ({ name: `from${i}`, inputInterface: c.relayIn.ifname, inputGroup: group, inputPort: 5000, inputSource: source, outputs: [{ group: outs[i], port: 5000, interface: c.relayOut.ifname }] })),
    });
    // The kernel holds two INCLUDE {source} memberships of the group (hex, network order as printed).
    const mcfilter = (await $`ip netns exec ${c.relayIn.ns} cat /proc/net/mcfilter`).stdout;
    expect(mcfilter).toMatch(/0xe8010101 0x0afb0102/);
    expect(mcfilter).toMatch(/0xe8010101 0x0afb0103/);
    expect(readFileSync(path.join(rig.dir, readdirSync(rig.dir).find((f) => f.startsWith('mcrd-'))!), 'utf8')).toMatch(/IGMP join successful: 232\.1\.1\.1 source 10\.251\.1\.3 on /);

    const sinks = await Promise.all(outs.map((out, i) => startSink(c.sink.ns, { interface: c.sink.ifname, streams: [`${out}:5000`], runId: 61 + i, idleTimeoutMs: 1000, maxWaitMs: 20_000 })));
    const sent = await Promise.all(sources.map((source, i) => runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: [`${group}:5000`], rate: 1000, count: 1000, size: 200, runId: 61 + i, source })));
    const got = await Promise.all(sinks.map((s) => s.done));
    for (const i of [0, 1]) {
      expect(sent[i].totalSent).toBe(1000);
      // Each output has its own source's packets, all of them, and none of the other's (which would be 'foreign').
      expect({ unique: got[i].streams[0].unique, foreign: got[i].foreign }).toEqual({ unique: 1000, foreign: 0 });
    }
    const list = (await rig.mcrd.client.request<{ rules: { inputSource: string; status: { state: string } }[] }>('list')).rules;
    expect(list.map((r) => [r.inputSource, r.status.state])).toEqual([[sources[0], 'forwarding'], [sources[1], 'forwarding']]);
  });
});

describe.skipIf(reason)('IPv6', () => {
  /** A stream of `from` family in, `to` family out, through mcrd with 2 workers: what the sink counted. */
  async function across(from: 4 | 6, to: 4 | 6, runId: number) {
    rig = await startRig(['--workers', '2']);
    const c = rig.chain;
    const [input] = planStreams(1, from);
    const [output] = planStreams(1, to);
    await rig.mcrd.client.request('add', { rule: { inputInterface: c.relayIn.ifname, inputGroup: input.inGroup, inputPort: input.inPort, outputs: [{ group: output.outGroup, port: output.outPort, interface: c.relayOut.ifname }] } });
    const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: [endpoint(output.outGroup, output.outPort)], runId, idleTimeoutMs: 1000, maxWaitMs: 20_000 });
    const sent = await runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: [endpoint(input.inGroup, input.inPort)], rate: 1000, count: 1000, size: 256, ttl: 9, tos: 0xb9, runId });
    return { sent: sent.totalSent, got: (await sink.done).streams[0], input: input.inGroup };
  }

  it('an IPv6 stream through mcrd: joined with MLD, every packet once, hop limit decremented, traffic class carried', async () => {
    const { sent, got, input } = await across(6, 6, 91);
    expect(sent).toBe(1000);
    expect(got).toMatchObject({ unique: 1000, duplicates: 0, corrupted: 0, ttl: { min: 8, max: 8 }, tos: { min: 0xb9, max: 0xb9 } });
    // /proc/net/igmp6 prints the group as its 32 hex digits: ff15::1:1 -> ff150000000000000000000000010001.
    expect((await $`ip netns exec ${rig!.chain.relayIn.ns} cat /proc/net/igmp6`).stdout).toContain(ipv6Bytes(input).toString('hex'));
  });

  it.each([
    [4, 6],
    [6, 4],
  ] as const)('IPv%i in, IPv%i out: every packet once', async (from, to) => {
    const { sent, got } = await across(from, to, 92 + from);
    expect(sent).toBe(1000);
    expect(got).toMatchObject({ unique: 1000, duplicates: 0, corrupted: 0 });
  });

  type WorkerCounts = { index: number; stats?: { reassembled: number; fragments: number; reassemblyExpired: number; reassemblyEvicted: number; reassemblyOverlaps: number; fragmentDuplicates: number } };
  /** `streams` IPv6 streams of `size`-byte datagrams through mcrd: what the sink counted per stream, and the workers' reassembly counters. */
  async function fragmented6(args: string[], size: number, streams: number, runId: number, chain: ChainOptions = {}) {
    rig = await startRig(args, chain);
    const c = rig.chain;
    const plans = planStreams(streams, 6);
    for (const p of plans) await rig.mcrd.client.request('add', { rule: ruleFor(c, p) });
    const count = 1000;
    const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: plans.map((p) => endpoint(p.outGroup, p.outPort)), runId, idleTimeoutMs: 1000, maxWaitMs: 20_000 });
    const sent = await runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: plans.map((p) => endpoint(p.inGroup, p.inPort)), rate: 1000, count, size, ttl: 9, runId });
    const got = (await sink.done).streams;
    const stats = await rig.mcrd.client.request<Stats & { workers: WorkerCounts[] }>('stats');
    const sum = (key: keyof NonNullable<WorkerCounts['stats']>) => stats.workers.reduce((n, w) => n + (w.stats?.[key] ?? 0), 0);
    return { sent: sent.totalSent, count, got, stats, sum };
  }

  // The kernel reassembles IPv4 fragments for the fanout group, not IPv6 ones: the workers do.
  // Every fragment of a datagram must reach the worker that holds the rest: in 'hash' mode the
  // kernel's flow hash of a fragment leaves out the ports (flow_dissector.c: no L4 for any
  // fragment, the first included), so all of a datagram's fragments hash alike. Four streams over
  // two workers: each worker typically gets some, and none may lose a datagram to a split.
  it.each([
    ['2 workers, fanout hash, 4 streams', ['--workers', '2'], 4],
    ["1 worker, fanout 'none'", ['--workers', '1', '--fanout', 'none'], 1],
  ] as const)('IPv6: 4000-byte datagrams over a 1500-byte MTU arrive whole, reassembled by the workers (%s)', async (_what, args, streams) => {
    const { sent, count, got, stats, sum } = await fragmented6([...args], 4000, streams, 97);
    expect(sent).toBe(count * streams);
    for (const g of got) expect(g).toMatchObject({ unique: count, duplicates: 0, corrupted: 0, ttl: { min: 8, max: 8 } });
    // 3 fragments each on a 1500 MTU (1448 data bytes per fragment): 4008 bytes of UDP datagram.
    expect(sum('fragments')).toBe(3 * count * streams);
    expect(sum('reassembled')).toBe(count * streams);
    expect([sum('reassemblyExpired'), sum('reassemblyEvicted'), sum('reassemblyOverlaps'), sum('fragmentDuplicates')]).toEqual([0, 0, 0, 0]);
    expect(stats.dropped.fragment).toBe(0);
    console.log(`IPv6 fragments, ${_what}: datagrams reassembled per worker ${stats.workers.map((w) => `#${w.index}=${w.stats?.reassembled ?? '-'}`).join(' ')}`);
  });

  it('IPv6: 8952-byte datagrams on a 9000-byte MTU path (jumbo frames)', async () => {
    const { got, sum } = await fragmented6(['--workers', '2'], 8952, 1, 98, { mtu: 9000 });
    expect(got[0]).toMatchObject({ unique: 1000, duplicates: 0, corrupted: 0 });
    expect(sum('fragments')).toBe(0); // one frame each: nothing to reassemble
  });
});
