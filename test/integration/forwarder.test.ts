// The native Forwarder with real traffic, without mcrd, on the project's chain (netns/topology.ts):
// mcr-gen in the generator's namespace (or frames injected there), Forwarders in the relay
// namespace, mcr-sink in the sink's. The addon opens its sockets in the network namespace of the
// calling thread, so the Forwarders live in a child node process inside the relay namespace
// (fixtures/forwarder/relay.mjs), driven with one JSON request per line. Traffic only ever goes to
// 239.x and ff15::/16 groups inside these namespaces.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChain, type Chain } from '../../netns/topology.js';
import { fragments6, frame6, ipv6Bytes } from '../../harness/src/frames.js';
import { runGenerator, type GenSummary } from '../../harness/src/generator.js';
import { encodePayload } from '../../harness/src/payload.js';
import { startSink, type SinkStreamSummary } from '../../harness/src/sink.js';
import { addonPath, endpoint, projectRoot, type ForwarderOptions, type ForwarderStats, type NativeRule } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';
import { injectFrames } from './inject.js';

const reason = skipReason();
announceSkip('forwarder integration', reason);

const RELAY_SCRIPT = path.join(projectRoot, 'test', 'integration', 'fixtures', 'forwarder', 'relay.mjs');

type Reply = Record<string, unknown>;

/** Forwarders in a node process inside the relay namespace: one request per line, its reply (errors come back as { error }). */
class RelayProcess {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, { resolve(reply: Reply): void; reject(err: Error): void }>();
  private stderr = '';
  private nextId = 1;
  readonly ready: Promise<Reply>;

  constructor(ns: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, RELAY_SCRIPT, addonPath]);
    this.ready = this.expect(0, 10_000);
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const reply = JSON.parse(line) as Reply;
      this.waiting.get(reply.id as number)?.resolve(reply);
    });
    this.proc.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`relay process exited (${code ?? signal}): ${this.stderr}`));
    });
  }

  private expect(id: number, timeoutMs: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to request ${id} within ${timeoutMs} ms: ${this.stderr}`)), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        f();
      };
      this.waiting.set(id, { resolve: (r) => done(() => resolve(r)), reject: (e) => done(() => reject(e)) });
    });
  }

  request(op: string, fields: Reply = {}, timeoutMs = 10_000): Promise<Reply> {
    const id = this.nextId++;
    const reply = this.expect(id, timeoutMs);
    this.proc.stdin.write(JSON.stringify({ id, op, ...fields }) + '\n');
    return reply;
  }

  async call(op: string, fields: Reply = {}, timeoutMs = 10_000): Promise<Reply> {
    const reply = await this.request(op, fields, timeoutMs);
    if (reply.error) throw new Error(`${op}: ${String(reply.error)}`);
    return reply;
  }

  async create(name: string, options: Partial<ForwarderOptions>): Promise<number> {
    return (await this.call('create', { name, options })).fanoutId as number;
  }

  async stats(name: string): Promise<ForwarderStats> {
    return (await this.call('stats', { name })).stats as ForwarderStats;
  }

  /** Closes its input (the process stops its forwarders and exits); killed after 3 s. */
  async end(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin.end();
    await Promise.race([exited, sleep(3000)]);
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

let chain: Chain;
const relays: RelayProcess[] = [];

async function startRelay(): Promise<RelayProcess> {
  const relay = new RelayProcess(chain.relayIn.ns);
  relays.push(relay);
  await relay.ready;
  return relay;
}

/** UDP payload bytes of every generated packet: the rules' byte counters are count × SIZE. */
const SIZE = 256;
const RUN_ID = 1;

/** Counts what arrives for `streams` (stream i's payloads carry stream id i + 1) until 800 ms pass without a packet. */
async function receive(streams: string[], runId = RUN_ID): Promise<() => Promise<SinkStreamSummary[]>> {
  const sink = await startSink(chain.sink.ns, { interface: chain.sink.ifname, streams, runId, idleTimeoutMs: 800, maxWaitMs: 30_000 });
  return async () => (await sink.done).streams;
}

async function send(streams: string[], o: { count: number; rate: number; ttl?: number; tos?: number; runId?: number }): Promise<GenSummary> {
  return runGenerator(chain.gen.ns, { interface: chain.gen.ifname, streams, count: o.count, rate: o.rate, size: SIZE, runId: o.runId ?? RUN_ID, ttl: o.ttl, tos: o.tos });
}

/** A payload mcr-sink accounts (stream 1 of RUN_ID), of `size` bytes, for injected frames. */
const payload = (seq: number, size = SIZE) => encodePayload({ flags: 0, runId: RUN_ID, stream: 1, seq: BigInt(seq), txNs: 0n }, size);

const counts = (s: SinkStreamSummary) => ({ received: s.received, unique: s.unique, duplicates: s.duplicates, corrupted: s.corrupted });
const withMarks = (s: SinkStreamSummary) => ({ ...counts(s), ttl: s.ttl, tos: s.tos });
/** Every packet once, intact. */
const whole = (n: number) => ({ received: n, unique: n, duplicates: 0, corrupted: 0 });
/** One TTL / TOS value on every datagram. */
const only = (v: number) => ({ min: v, max: v });
/** Every stream sent `count` packets with no error. */
const sentAll = (gen: GenSummary) => gen.streams.map((s) => ({ sent: s.sent, errorCount: s.errorCount }));

const rule = (ruleId: string, group: string, port: number, outGroup: string, outPort: number): NativeRule => ({
  id: ruleId,
  group,
  port,
  outputs: [{ group: outGroup, port: outPort, interface: chain.relayOut.ifname, ttl: 4 }],
});

describe.skipIf(reason)('native Forwarder through namespaces', () => {
  const N = 2000;
  const RATE = 4000;

  beforeAll(async () => {
    chain = await createChain();
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.end()));
  });

  afterAll(async () => {
    await chain?.destroy();
  });

  it.each(['ring', 'blocks', 'mmsg'] as const)('one rule (%s): every packet arrives once, intact; counters agree', async (ingress) => {
    const port = { ring: 5001, blocks: 5002, mmsg: 5003 }[ingress];
    const inGroup = '239.1.1.1';
    const out = { group: '239.2.2.2', port: 6000 + port - 5000 };
    const relay = await startRelay();
    expect(await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1, ingress, ringMiB: 8 })).toBeGreaterThanOrEqual(0);
    await relay.call('setRules', { name: 'f', rules: [rule('r1', inGroup, port, out.group, out.port)] });
    await relay.call('start', { name: 'f' });
    const received = await receive([endpoint(out.group, out.port)]);

    const gen = await send([endpoint(inGroup, port)], { count: N, rate: RATE });
    expect(sentAll(gen)).toEqual([{ sent: N, errorCount: 0 }]);
    expect((await received()).map(counts)).toEqual([whole(N)]);

    const s = await relay.stats('f');
    expect(s).toMatchObject({ rx: N, matched: N, unmatched: 0, malformed: 0, kernelDrops: 0, tx: N, txErrors: 0 });
    expect(s.ringFreezes).toBe(0);
    const bytes = N * SIZE;
    expect(s.rules).toEqual([{ id: 'r1', packets: N, bytes, outputs: [{ packets: N, bytes, errors: 0 }] }]);
    await relay.call('stop', { name: 'f' });
    await relay.call('stop', { name: 'f' }); // idempotent
    // Stats stay readable after stop.
    expect((await relay.stats('f')).tx).toBe(N);
  });

  it('setRules rejects bad input with context and keeps the previous table', async () => {
    const relay = await startRelay();
    await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'none', fanoutId: -1 });
    const good = rule('good', '239.1.1.1', 5010, '239.2.2.2', 6010);
    await relay.call('setRules', { name: 'f', rules: [good] });
    const bad = async (rules: unknown) => String((await relay.request('setRules', { name: 'f', rules })).error);
    expect(await bad([{ ...good, outputs: [{ ...good.outputs[0], interface: 'x'.repeat(16) }] }])).toBe(`rule good output 1: bad interface name '${'x'.repeat(16)}'`);
    expect(await bad([good, { ...good, id: 'dup' }])).toMatch(/^rule dup: duplicate input 239\.1\.1\.1:5010/);
    expect(await bad([good, { ...good, port: 5011 }])).toMatch(/^rule good: duplicate rule id/);
    expect(await bad([{ ...good, group: '10.1.1.1' }])).toMatch(/^rule good group: 10\.1\.1\.1 is not a multicast group/);
    expect(await bad([{ ...good, group: 'x' }])).toMatch(/^rule good group: 'x' is not an IPv4 or IPv6 address/);
    expect(await bad([{ ...good, group: 'fd00::1' }])).toMatch(/^rule good group: fd00::1 is not a multicast group \(ff00::\/8\)/);
    expect(await bad([{ ...good, source: 'fd00::1' }])).toMatch(/^rule good source: fd00::1 is IPv6 but the group is IPv4/);
    expect(await bad([{ ...good, port: 0 }])).toMatch(/^rule good: port 0 out of range/);
    expect(await bad([{ ...good, port: 70000 }])).toMatch(/^rule good: port 70000 out of range/);
    expect(await bad([{ ...good, outputs: [] }])).toMatch(/^rule good: no outputs/);
    expect(await bad([{ ...good, outputs: [{ ...good.outputs[0], ttl: 0 }] }])).toMatch(/^rule good output 1: ttl 0 out of range/);
    expect(await bad([{ ...good, outputs: [{ ...good.outputs[0], group: '239.1.1' }] }])).toMatch(/^rule good output 1 group/);
    expect(await bad([{ ...good, id: '' }])).toMatch(/^rule #1: empty id/);
    expect(await bad([{ ...good, port: '5010' }])).toMatch(/'port' must be a number/);
    expect(await bad('nope')).toMatch(/rules must be an array/);
    expect(await bad([null])).toMatch(/rule #1 must be an object/);
    expect((await relay.stats('f')).rules.map((r) => r.id)).toEqual(['good']);
    // An output interface that does not exist (deleted, not yet re-created) is accepted without a
    // socket; mcrd reloads the table when it is back.
    await relay.call('setRules', { name: 'f', rules: [{ ...good, outputs: [{ ...good.outputs[0], interface: 'nope0' }] }] });
    expect((await relay.stats('f')).rules.map((r) => r.id)).toEqual(['good']);
    // An empty table is valid.
    await relay.call('setRules', { name: 'f', rules: [] });
    expect((await relay.stats('f')).rules).toEqual([]);
  });

  it.each(['hash', 'lb'] as const)("two forwarders in one fanout group ('%s'): every packet exactly once", async (fanout) => {
    const port = fanout === 'hash' ? 5020 : 5021;
    const inGroup = '239.1.1.2';
    const out = { group: '239.2.2.3', port: port + 1000 };
    const relay = await startRelay();
    const first = await relay.create('f1', { interface: chain.relayIn.ifname, fanout, fanoutId: -1 });
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await relay.create('f2', { interface: chain.relayIn.ifname, fanout, fanoutId: first })).toBe(first);
    for (const f of ['f1', 'f2']) {
      await relay.call('setRules', { name: f, rules: [rule('r', inGroup, port, out.group, out.port)] });
      await relay.call('start', { name: f });
    }
    const received = await receive([endpoint(out.group, out.port)]);
    expect(sentAll(await send([endpoint(inGroup, port)], { count: N, rate: RATE }))).toEqual([{ sent: N, errorCount: 0 }]);
    expect((await received()).map(counts)).toEqual([whole(N)]);
    const [s1, s2] = [await relay.stats('f1'), await relay.stats('f2')];
    expect(s1.rx + s2.rx).toBe(N);
    expect(s1.tx + s2.tx).toBe(N);
    // 'lb' round-robins; 'hash' keeps the single flow on one socket.
    if (fanout === 'lb') expect(Math.min(s1.rx, s2.rx)).toBeGreaterThan(N / 4);
    else expect(Math.max(s1.rx, s2.rx)).toBe(N);
  });

  it("fanout 'none' (negative control): both forwarders see everything, duplicates appear", async () => {
    const port = 5030;
    const inGroup = '239.1.1.3';
    const out = { group: '239.2.2.4', port: 6030 };
    const relay = await startRelay();
    expect(await relay.create('f1', { interface: chain.relayIn.ifname, fanout: 'none', fanoutId: -1 })).toBe(-1);
    expect(await relay.create('f2', { interface: chain.relayIn.ifname, fanout: 'none', fanoutId: -1 })).toBe(-1);
    for (const f of ['f1', 'f2']) {
      await relay.call('setRules', { name: f, rules: [rule('r', inGroup, port, out.group, out.port)] });
      await relay.call('start', { name: f });
    }
    const received = await receive([endpoint(out.group, out.port)]);
    expect(sentAll(await send([endpoint(inGroup, port)], { count: N, rate: RATE }))).toEqual([{ sent: N, errorCount: 0 }]);
    const [got] = await received();
    expect(got.unique).toBe(N);
    expect(got.corrupted).toBe(0);
    expect(got.received).toBeGreaterThanOrEqual(1.9 * N);
    expect(got.duplicates).toBeGreaterThanOrEqual(0.9 * N);
    expect((await relay.stats('f1')).rx).toBe(N);
    expect((await relay.stats('f2')).rx).toBe(N);
  });

  it('rule tables swapped while traffic flows: no crash, no loss on the kept rule, counters survive, unmatched counted', async () => {
    const kept = { group: '239.1.1.4', port: 5040 };
    const stray = { group: '239.1.1.5', port: 5041 }; // never has a rule
    const out = { group: '239.2.2.5', port: 6040 };
    const out2 = { group: '239.2.2.6', port: 6041 };
    const relay = await startRelay();
    await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1 });
    const t1 = [rule('kept', kept.group, kept.port, out.group, out.port)];
    // Same rule id and output count (counters carry over), plus an extra rule on another ttl/socket.
    const t2 = [
      { ...rule('kept', kept.group, kept.port, out.group, out.port) },
      { id: 'other', group: '239.1.1.6', port: 5042, outputs: [{ group: out2.group, port: out2.port, interface: chain.relayOut.ifname, ttl: 9 }] },
    ];
    await relay.call('setRules', { name: 'f', rules: t1 });
    await relay.call('start', { name: 'f' });
    const received = await receive([endpoint(out.group, out.port)]);
    const count = 3000;
    const churn = relay.call('churn', { name: 'f', tables: [t2, t1], intervalMs: 2, durationMs: 1200 }, 20_000);
    // Stream 1 (kept) is the one the sink counts; stream 2 (stray) is never forwarded.
    const gen = await send([endpoint(kept.group, kept.port), endpoint(stray.group, stray.port)], { count, rate: RATE });
    const { swaps } = await churn;
    expect(gen.totalSent).toBe(2 * count);
    expect(swaps as number).toBeGreaterThan(100);
    await relay.call('setRules', { name: 'f', rules: t1 });
    expect((await received()).map(counts)).toEqual([whole(count)]);
    const s = await relay.stats('f');
    expect(s).toMatchObject({ rx: 2 * count, matched: count, unmatched: count, malformed: 0, tx: count, txErrors: 0 });
    expect(s.rules).toEqual([expect.objectContaining({ id: 'kept', packets: count, outputs: [expect.objectContaining({ packets: count, errors: 0 })] })]);
  });

  it('kernel-assigned fanout ids: two new groups get different ids; joining needs the same mode', async () => {
    const relay = await startRelay();
    const a = await relay.create('a', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1 });
    const b = await relay.create('b', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1 });
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(a).not.toBe(b);
    // A second relay process (its own kernel-assigned group) does not collide either.
    const other = await startRelay();
    const c = await other.create('c', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1 });
    expect([a, b]).not.toContain(c);
    // Cross-process join of an existing group works; a different mode is refused by the kernel.
    expect(await other.create('d', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: a })).toBe(a);
    const refused = await other.request('create', { name: 'e', options: { interface: chain.relayIn.ifname, fanout: 'cpu', fanoutId: a } });
    expect(refused.error).toBe(`PACKET_FANOUT join id ${a} on ${chain.relayIn.ifname} failed: Invalid argument`);
    // Joining on another interface is refused too (a group is per device).
    const elsewhere = await other.request('create', { name: 'g', options: { interface: chain.relayOut.ifname, fanout: 'hash', fanoutId: a } });
    expect(elsewhere.error).toBe(`PACKET_FANOUT join id ${a} on ${chain.relayOut.ifname} failed: Invalid argument`);
    const unknown = await other.request('create', { name: 'h', options: { interface: 'nope0', fanout: 'hash', fanoutId: -1 } });
    expect(unknown.error).toBe("unknown interface 'nope0'");
  });
  it.each(['ring', 'blocks', 'mmsg'] as const)(
    'IPv6 in -> IPv6 and IPv4 out, IPv4 in -> IPv6 out (%s): every packet once, intact; hop limit decremented; traffic class carried or re-marked',
    async (ingress) => {
      const base = { ring: 6100, blocks: 6200, mmsg: 6300 }[ingress];
      const relay = await startRelay();
      await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1, ingress, ringMiB: 8 });
      const rules: NativeRule[] = [
        {
          id: 'v6in',
          group: 'ff15::8',
          port: base,
          outputs: [
            { group: 'ff15::9', port: base + 1000, interface: chain.relayOut.ifname, ttl: 16 },
            { group: '239.2.6.1', port: base + 1001, interface: chain.relayOut.ifname, ttl: 16, dscp: 10 },
          ],
        },
        { id: 'v4in', group: '239.1.6.1', port: base + 1, outputs: [{ group: 'ff15::a', port: base + 1002, interface: chain.relayOut.ifname, ttl: 3 }] },
      ];
      await relay.call('setRules', { name: 'f', rules });
      await relay.call('start', { name: 'f' });
      // One family per generator and per sink: the IPv6 input (run 1) to its two outputs, the IPv4 input (run 2) to its one.
      const [v6out, v4out, fromV4] = await Promise.all([
        receive([endpoint('ff15::9', base + 1000)], 1),
        receive([endpoint('239.2.6.1', base + 1001)], 1),
        receive([endpoint('ff15::a', base + 1002)], 2),
      ]);
      const n = 1000;
      // Hop limit 9 and traffic class 0xb9 (DSCP 46, ECT(1)); TTL 9 and TOS 0x28 (DSCP 10).
      const [sent6, sent4] = await Promise.all([
        send([endpoint('ff15::8', base)], { count: n, rate: 2000, ttl: 9, tos: 0xb9, runId: 1 }),
        send([endpoint('239.1.6.1', base + 1)], { count: n, rate: 2000, ttl: 9, tos: 0x28, runId: 2 }),
      ]);
      expect([...sentAll(sent6), ...sentAll(sent4)]).toEqual([{ sent: n, errorCount: 0 }, { sent: n, errorCount: 0 }]);
      // IPv6 -> IPv6: hop limit min(16, 9 - 1), traffic class as it came.
      expect((await v6out()).map(withMarks)).toEqual([{ ...whole(n), ttl: only(8), tos: only(0xb9) }]);
      // IPv6 -> IPv4 with DSCP 10 re-marked: the traffic class's ECN bits kept in the TOS byte.
      expect((await v4out()).map(withMarks)).toEqual([{ ...whole(n), ttl: only(8), tos: only((10 << 2) | 1) }]);
      // IPv4 -> IPv6: hop limit min(3, 9 - 1), the TOS byte as traffic class.
      expect((await fromV4()).map(withMarks)).toEqual([{ ...whole(n), ttl: only(3), tos: only(0x28) }]);
      const st = await relay.stats('f');
      expect(st).toMatchObject({ rx: 2 * n, matched: 2 * n, unmatched: 0, malformed: 0, kernelDrops: 0, tx: 3 * n, txErrors: 0, ttlExpired: 0 });
      expect(Object.values(st.dropped).every((v) => v === 0)).toBe(true);
      const bytes = n * SIZE;
      expect(st.rules).toEqual([
        { id: 'v4in', packets: n, bytes, outputs: [{ packets: n, bytes, errors: 0 }] },
        { id: 'v6in', packets: n, bytes, outputs: [{ packets: n, bytes, errors: 0 }, { packets: n, bytes, errors: 0 }] },
      ]);
    },
  );

  it('IPv6 frames with extension headers are forwarded; each class the relay drops is counted under its own name', async () => {
    const port = 6400;
    const relay = await startRelay();
    await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1 });
    await relay.call('setRules', { name: 'f', rules: [{ id: 'x', group: 'ff15::40', port, outputs: [{ group: 'ff15::41', port: port + 1000, interface: chain.relayOut.ifname, ttl: 16 }] }] });
    await relay.call('start', { name: 'f' });
    const received = await receive([endpoint('ff15::41', port + 1000)]);
    const to = { dst: 'ff15::40', src: chain.gen.addr6, dstPort: port, hopLimit: 5, trafficClass: 0x48 };
    const hbh = { type: 0 };
    const dest = { type: 60, size: 16 };
    const good = Array.from({ length: 50 }, (_, seq) => frame6({ ...to, ext: seq % 2 ? [hbh, dest] : [{ type: 43, size: 24 }, dest], payloadBytes: payload(seq, 64) }));
    const bad = [
      ...Array.from({ length: 20 }, () => frame6({ ...to, ext: [hbh, { type: 44, more: true }] })),
      ...Array.from({ length: 9 }, () => frame6({ ...to, ext: [hbh, ...Array.from({ length: 8 }, () => dest)] })),
      ...Array.from({ length: 8 }, () => frame6({ ...to, payloadLength: 0 })),
      ...Array.from({ length: 7 }, () => frame6({ ...to, ext: [{ type: 60, lengthByte: 40 }] })),
      ...Array.from({ length: 6 }, () => frame6({ ...to, payloadLengthDelta: 1 })),
      ...Array.from({ length: 5 }, () => frame6({ ...to, ext: [dest, hbh] })),
      ...Array.from({ length: 4 }, () => frame6({ ...to, hopLimit: 1 })),
      // Another VLAN's: the tag is taken off into metadata, the frame reaches the parent's socket.
      ...Array.from({ length: 3 }, () => frame6({ ...to, tags: [[0x8100, 7]] })),
      // Kept out by the filter (not counted at all): ICMPv6, an MLD report behind hop-by-hop, a unicast destination.
      frame6({ ...to, proto: 58 }),
      frame6({ ...to, ext: [hbh], proto: 58 }),
      frame6({ ...to, dst: chain.relayIn.addr6 }),
    ];
    await injectFrames(chain.gen.ns, chain.gen.ifname, [...good, ...bad], 1);
    expect((await received()).map(withMarks)).toEqual([{ ...whole(50), ttl: only(4), tos: only(0x48) }]);
    const st = await relay.stats('f');
    expect(st).toMatchObject({ rx: 50 + 20 + 9 + 8 + 7 + 6 + 5 + 4 + 3, matched: 54, tx: 50, ttlExpired: 4, malformed: 20 + 9 + 8 + 7 + 6 + 5, fragments: 0 });
    expect(st.dropped).toEqual({
      truncated: 0,
      not_ip: 0,
      bad_ihl: 0,
      bad_total_length: 0,
      fragment: 0,
      // A first fragment of 28 bytes: not a multiple of 8.
      bad_fragment: 20,
      not_udp: 0,
      bad_udp_length: 0,
      not_multicast: 0,
      bad_ipv6_header: 6,
      jumbogram: 8,
      bad_extension_header: 7 + 5,
      too_many_extension_headers: 9,
      vlan_tagged: 3,
    });
  });

  it.each(['ring', 'blocks', 'mmsg'] as const)(
    'IPv6 fragments are reassembled (%s): in order, reversed, with duplicates; overlapping, incomplete and bad datagrams counted, never sent',
    async (ingress) => {
      const port = { ring: 6700, blocks: 6710, mmsg: 6720 }[ingress];
      const relay = await startRelay();
      await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1, ingress, ringMiB: 8 });
      await relay.call('setRules', { name: 'f', rules: [{ id: 'x', group: 'ff15::70', port, outputs: [{ group: 'ff15::71', port: port + 1000, interface: chain.relayOut.ifname, ttl: 16 }] }] });
      await relay.call('start', { name: 'f' });
      const received = await receive([endpoint('ff15::71', port + 1000)]);
      const to = { dst: 'ff15::70', src: chain.gen.addr6, dstPort: port, hopLimit: 5, trafficClass: 0x48 };
      // 72 to 168 bytes of UDP datagram (64 to 160 of payload) in 48-byte fragments: 2 to 4 of them, the last of any length.
      const datagram = (seq: number) => payload(seq, 64 + (seq % 97));
      const n = 60;
      const good: Buffer[] = [];
      let duplicates = 0;
      for (let seq = 0; seq < n; seq++) {
        const f = fragments6({ ...to, payloadBytes: datagram(seq), fragmentSize: 48, id: 1000 + seq });
        if (seq % 3 === 0) good.push(...f);
        else if (seq % 3 === 1) good.push(...[...f].reverse());
        else {
          // Two copies of every fragment but the last (a copy after completion would start a datagram of its own).
          const body = f.slice(0, -1);
          good.push(...body, ...body, f[f.length - 1]);
          duplicates += body.length;
        }
      }
      const overlapping = fragments6({ ...to, payloadBytes: datagram(1), fragmentSize: 48, id: 5000 });
      const bad = [
        // Overlap: the second fragment 8 bytes early.
        overlapping[0],
        frame6({ ...to, ext: [{ type: 44, offset: 40 / 8, more: true, id: 5000 }], body: Buffer.alloc(16) }),
        // Incomplete: the first fragment alone, expired a second later.
        fragments6({ ...to, payloadBytes: datagram(2), fragmentSize: 48, id: 6000 })[0],
        // Complete, but its UDP length is not the reassembled length.
        ...fragments6({ ...to, payloadBytes: datagram(3), fragmentSize: 48, id: 7000, udpLengthDelta: 8 }),
        // Refused by the parser: a middle fragment of 12 bytes.
        frame6({ ...to, ext: [{ type: 44, offset: 6, more: true, id: 8000 }], body: Buffer.alloc(12) }),
      ];
      await injectFrames(chain.gen.ns, chain.gen.ifname, [...good, ...bad], 1);
      expect((await received()).map(withMarks)).toEqual([{ ...whole(n), ttl: only(4), tos: only(0x48) }]);
      // The timeout (1 s), noticed within a poll (100 ms) of the idle forwarding thread.
      await sleep(1400);
      const st = await relay.stats('f');
      const fragmentFrames = good.length + bad.length - 1;
      expect(st).toMatchObject({
        rx: good.length + bad.length,
        matched: n,
        tx: n,
        malformed: 2,
        fragments: fragmentFrames,
        reassembled: n + 1,
        reassemblyExpired: 1,
        reassemblyEvicted: 0,
        reassemblyOverlaps: 1,
        fragmentDuplicates: duplicates,
      });
      expect(st.dropped).toMatchObject({ bad_udp_length: 1, bad_fragment: 1, fragment: 0 });
    },
  );

  it('a burst of one IPv6 flow leaves as GSO messages (UDP_SEGMENT on the IPv6 socket), every datagram intact', async () => {
    const port = 6600;
    const relay = await startRelay();
    // Blocks: a burst collects in one block (up to its 1 ms timeout), so a batch holds a run of the flow.
    await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1, ingress: 'blocks', ringMiB: 8 });
    await relay.call('setRules', { name: 'f', rules: [{ id: 'g', group: 'ff15::60', port, outputs: [{ group: 'ff15::61', port: port + 1000, interface: chain.relayOut.ifname, ttl: 16 }] }] });
    await relay.call('start', { name: 'f' });
    const received = await receive([endpoint('ff15::61', port + 1000)]);
    const n = 2000;
    // Equal sizes: GSO cuts equal segments.
    const frames = Array.from({ length: n }, (_, i) => frame6({ dst: 'ff15::60', src: chain.gen.addr6, dstPort: port, hopLimit: 9, trafficClass: 0x20, payloadBytes: payload(i, 64) }));
    await injectFrames(chain.gen.ns, chain.gen.ifname, frames, 1);
    expect((await received()).map(withMarks)).toEqual([{ ...whole(n), ttl: only(8), tos: only(0x20) }]);
    const st = await relay.stats('f');
    expect(st).toMatchObject({ rx: n, matched: n, tx: n, txErrors: 0 });
    expect(st.txMessages).toBeLessThan(n / 2);
  });

  it('the relay never receives its own transmissions (ETH_P_ALL socket): IPv4 and IPv6 sent back out of the input interface', async () => {
    const relay = await startRelay();
    await relay.create('f', { interface: chain.relayIn.ifname, fanout: 'hash', fanoutId: -1 });
    // 'out' sends on the input interface to a group that 'echo' would forward, were the relay to see it.
    await relay.call('setRules', {
      name: 'f',
      rules: [
        { id: 'out6', group: 'ff15::50', port: 6500, outputs: [{ group: 'ff15::51', port: 6500, interface: chain.relayIn.ifname, ttl: 8 }] },
        { id: 'echo6', group: 'ff15::51', port: 6500, outputs: [{ group: 'ff15::52', port: 6500, interface: chain.relayOut.ifname, ttl: 8 }] },
        { id: 'out4', group: '239.1.6.50', port: 6501, outputs: [{ group: '239.1.6.51', port: 6501, interface: chain.relayIn.ifname, ttl: 8 }] },
        { id: 'echo4', group: '239.1.6.51', port: 6501, outputs: [{ group: '239.1.6.52', port: 6501, interface: chain.relayOut.ifname, ttl: 8 }] },
      ],
    });
    await relay.call('start', { name: 'f' });
    const n = 300;
    const sent = await Promise.all([
      send([endpoint('ff15::50', 6500)], { count: n, rate: 2000, ttl: 9 }),
      send([endpoint('239.1.6.50', 6501)], { count: n, rate: 2000, ttl: 9 }),
    ]);
    expect(sent.flatMap(sentAll)).toEqual([{ sent: n, errorCount: 0 }, { sent: n, errorCount: 0 }]);
    await sleep(300);
    const st = await relay.stats('f');
    expect(st).toMatchObject({ rx: 2 * n, matched: 2 * n, tx: 2 * n, txErrors: 0, malformed: 0 });
    expect(Object.fromEntries(st.rules.map((r) => [r.id, r.packets]))).toEqual({ out6: n, echo6: 0, out4: n, echo4: 0 });
  });

  it('MLD helper sockets: a join shows in /proc/net/igmp6 (a source-specific one in /proc/net/mcfilter6), a leave removes it', async () => {
    const relay = await startRelay();
    const addon = async (fn: string, ...args: unknown[]) => (await relay.call('addon', { fn, args })).result;
    const read = async (file: string) => (await relay.call('read', { file })).text as string;
    const hex = (address: string) => ipv6Bytes(address).toString('hex');
    const joined = async (group: string) => (await read('/proc/net/igmp6')).split('\n').some((l) => l.includes(chain.relayOut.ifname) && l.includes(hex(group)));
    // (/proc/net/mcfilter6 prints at most 6 characters of a device name.)
    const filtered = async (group: string, source: string) => (await read('/proc/net/mcfilter6')).split('\n').some((l) => l.includes(` ${chain.relayOut.ifname.slice(0, 6)} `) && l.includes(hex(group)) && l.includes(hex(source)));
    const fd = (await addon('igmpOpenSocket', 6)) as number;
    const v4 = (await addon('igmpOpenSocket')) as number;
    try {
      expect(await joined('ff15::77')).toBe(false);
      await addon('igmpJoin', fd, chain.relayOut.ifname, 'ff15::77');
      expect(await joined('ff15::77')).toBe(true);
      await addon('igmpJoinSource', fd, chain.relayOut.ifname, 'ff35::78', chain.sink.addr6);
      expect(await filtered('ff35::78', chain.sink.addr6)).toBe(true);
      expect(await joined('ff35::78')).toBe(true);
      // Family mismatches name the group; nothing is joined.
      expect((await relay.request('addon', { fn: 'igmpJoin', args: [v4, chain.relayOut.ifname, 'ff15::79'] })).error).toBe('join ff15::79: an IPv6 group on an IPv4 helper socket');
      expect((await relay.request('addon', { fn: 'igmpJoin', args: [fd, chain.relayOut.ifname, '239.7.7.7'] })).error).toBe('join 239.7.7.7: an IPv4 group on an IPv6 helper socket');
      expect(await joined('ff15::79')).toBe(false);
      await addon('igmpLeave', fd, chain.relayOut.ifname, 'ff15::77');
      expect(await joined('ff15::77')).toBe(false);
      await addon('igmpLeaveSource', fd, chain.relayOut.ifname, 'ff35::78', chain.sink.addr6);
      expect(await filtered('ff35::78', chain.sink.addr6)).toBe(false);
      expect(await joined('ff35::78')).toBe(false);
      // A socket's memberships end with it.
      await addon('igmpJoin', fd, chain.relayOut.ifname, 'ff15::7a');
      expect(await joined('ff15::7a')).toBe(true);
    } finally {
      await addon('igmpClose', fd);
      await addon('igmpClose', v4);
    }
    expect(await joined('ff15::7a')).toBe(false);
  });
});
