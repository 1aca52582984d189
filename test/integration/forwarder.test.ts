// The native Forwarder with real traffic, without mcrd: ns A (sender) --veth-- ns R (relay)
// --veth-- ns B (receiver). The addon opens its sockets in the network namespace of the calling
// thread, so the relay side runs in a child node process inside ns R (ip netns exec), driven over
// stdin/stdout with JSON lines; sender and receiver are small node dgram scripts in A and B.
// IPv6 traffic (and the mixed-family rules) uses python3 senders and receivers, which set and read
// the hop limit and traffic class (node's dgram can do neither).
// Traffic only ever goes to 239.x and ff15::/16 groups inside these namespaces.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addonPath, projectRoot, type ForwarderOptions, type ForwarderStats, type NativeRule } from '../../relay/src/native.js';
import { fragments6, frame6 } from '../../harness/src/frames.js';
import { injectFrames } from './inject.js';

// addonPath: build/Release, or the build MCR_ADDON names (npm run test:sanitized).
function hasIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const reason =
  process.getuid?.() !== 0
    ? 'not root (network namespaces and AF_PACKET need root)'
    : !hasIp()
      ? "'ip' not found (iproute2)"
      : !existsSync(addonPath)
        ? `${addonPath} missing (build it: make -C build mcr)`
        : undefined;
if (reason) console.warn(`SKIPPED forwarder integration: ${reason}`);

// ---------------------------------------------------------------------------------------------
// Child scripts: fixtures/forwarder/{relay,recv,send,payload}.mjs, and Python twins for IPv6 and
// mixed families ({recv6,send6,payload}.py: the same payloads; the receiver reads each datagram's
// hop limit / TTL and traffic class / TOS). Payload: 'MCRT' | stream u32 | seq u32 | pattern bytes.
const SCRIPTS = path.join(projectRoot, 'test', 'integration', 'fixtures', 'forwarder');

/** The payload of (stream, seq), as payload.mjs and payload.py make it. */
function payloadOf(stream: number, seq: number): Buffer {
  const len = 64 + (seq % 97);
  const b = Buffer.alloc(len);
  b.write('MCRT', 0);
  b.writeUInt32BE(stream, 4);
  b.writeUInt32BE(seq, 8);
  for (let i = 12; i < len; i++) b[i] = (seq * 7 + stream * 13 + i) & 0xff;
  return b;
}

// ---------------------------------------------------------------------------------------------

const id = randomBytes(2).toString('hex');
const ns = { a: `fw${id}a`, r: `fw${id}r`, b: `fw${id}b` };
const ifs = { a: `fw${id}a0`, ra: `fw${id}ra`, rb: `fw${id}rb`, b: `fw${id}b0` };
const addr = { a: '10.254.1.1', ra: '10.254.1.2', rb: '10.254.2.1', b: '10.254.2.2' };
const addr6 = { a: 'fd00:254:1::1', ra: 'fd00:254:1::2', rb: 'fd00:254:2::1', b: 'fd00:254:2::2' };
const children = new Set<ChildProcessWithoutNullStreams>();

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function createTopology(): void {
  for (const n of Object.values(ns)) {
    ip('netns', 'add', n);
    // Our namespaces only: no duplicate address detection, so link-local addresses (which MLD
    // reports need) are usable at once, as are the addresses added below.
    for (const key of ['net.ipv6.conf.default.accept_dad', 'net.ipv6.conf.all.accept_dad']) execFileSync('ip', ['netns', 'exec', n, 'sysctl', '-qw', `${key}=0`]);
  }
  ip('link', 'add', 'name', ifs.a, 'netns', ns.a, 'type', 'veth', 'peer', 'name', ifs.ra, 'netns', ns.r);
  ip('link', 'add', 'name', ifs.rb, 'netns', ns.r, 'type', 'veth', 'peer', 'name', ifs.b, 'netns', ns.b);
  const up = (n: string, i: string, a: string, a6: string) => {
    ip('-n', n, 'addr', 'add', `${a}/24`, 'dev', i);
    ip('-n', n, '-6', 'addr', 'add', `${a6}/64`, 'dev', i, 'nodad');
    ip('-n', n, 'link', 'set', i, 'up');
  };
  for (const n of Object.values(ns)) ip('-n', n, 'link', 'set', 'lo', 'up');
  up(ns.a, ifs.a, addr.a, addr6.a);
  up(ns.r, ifs.ra, addr.ra, addr6.ra);
  up(ns.r, ifs.rb, addr.rb, addr6.rb);
  up(ns.b, ifs.b, addr.b, addr6.b);
  ip('-n', ns.a, 'route', 'add', '239.0.0.0/8', 'dev', ifs.a);
}

function destroyTopology(): void {
  for (const n of Object.values(ns)) {
    try {
      ip('netns', 'del', n);
    } catch {
      // not created
    }
  }
}

/** A child node process in a namespace speaking JSON lines. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  private lines: string[] = [];
  private waiters: (() => void)[] = [];
  private stderr = '';
  private nextId = 1;

  constructor(namespace: string, script: string, args: string[]) {
    const interpreter = script.endsWith('.py') ? 'python3' : process.execPath;
    this.proc = spawn('ip', ['netns', 'exec', namespace, interpreter, path.join(SCRIPTS, script), ...args]);
    children.add(this.proc);
    this.proc.on('exit', () => {
      children.delete(this.proc);
      this.wake();
    });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      this.lines.push(l);
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async line(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`child exited (${this.proc.exitCode ?? this.proc.signalCode}): ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no answer from child within ${timeoutMs} ms: ${this.stderr}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(100)]);
    }
    return JSON.parse(this.lines.shift()!) as Record<string, unknown>;
  }

  /** Relay protocol: one request, its reply (errors come back as { error }). */
  async request(op: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const rid = this.nextId++;
    this.proc.stdin.write(JSON.stringify({ id: rid, op, ...fields }) + '\n');
    for (;;) {
      const reply = await this.line(timeoutMs);
      if (reply.id === rid) return reply;
    }
  }

  async call(op: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const reply = await this.request(op, fields, timeoutMs);
    if (reply.error) throw new Error(`${op}: ${String(reply.error)}`);
    return reply;
  }

  async end(): Promise<void> {
    this.proc.stdin.end();
    const exited = new Promise<void>((r) => (this.proc.exitCode !== null || this.proc.signalCode !== null ? r() : this.proc.once('exit', () => r())));
    await Promise.race([exited, sleep(3000)]);
    if (children.has(this.proc)) this.proc.kill('SIGKILL');
  }
}

class Relay extends Child {
  constructor() {
    super(ns.r, 'relay.mjs', [addonPath]);
  }
  async ready(): Promise<this> {
    await this.line();
    return this;
  }
  async create(name: string, options: Partial<ForwarderOptions>): Promise<number> {
    return (await this.call('create', { name, options })).fanoutId as number;
  }
  async stats(name: string): Promise<ForwarderStats> {
    return (await this.call('stats', { name })).stats as ForwarderStats;
  }
}

type StreamCounts = Record<string, { received: number; unique: number; duplicates: number; corrupt: number }>;
type Counts6 = Record<string, { received: number; unique: number; duplicates: number; corrupt: number; ttl: number[]; tos: number[] }>;

/** A receiver child in ns B that counts per group and answers 'summary' with its counts. */
class CountingReceiver<C> extends Child {
  async ready(): Promise<this> {
    await this.line();
    return this;
  }
  async counts(): Promise<C> {
    this.proc.stdin.write('summary\n');
    return (await this.line()) as C;
  }
  /** Counts once nothing changed for 300 ms (the relay has drained). */
  async settled(maxMs = 5000): Promise<C> {
    const deadline = Date.now() + maxMs;
    let last = JSON.stringify(await this.counts());
    for (;;) {
      await sleep(300);
      const now = await this.counts();
      const text = JSON.stringify(now);
      if (text === last || Date.now() > deadline) return now;
      last = text;
    }
  }
}

/** node receiver (IPv4). */
class Receiver extends CountingReceiver<StreamCounts> {
  constructor(subs: { group: string; port: number }[]) {
    super(ns.b, 'recv.mjs', [JSON.stringify({ addr: addr.b, subs })]);
  }
}

/** python3 receiver: joined groups of either family, per group counts, TTL / hop limit and TOS / traffic class seen. */
class Receiver6 extends CountingReceiver<Counts6> {
  constructor(subs: { group: string; port: number }[]) {
    super(ns.b, 'recv6.py', [JSON.stringify({ ifname: ifs.b, subs })]);
  }
}

async function send(targets: { group: string; port: number; stream: number }[], count: number, rate: number): Promise<{ sent: number; errors: number }> {
  const c = new Child(ns.a, 'send.mjs', [JSON.stringify({ addr: addr.a, targets, count, rate })]);
  try {
    return (await c.line(60_000)) as { sent: number; errors: number };
  } finally {
    await c.end();
  }
}

/** python3 sender in ns A: one stream of either family with the given TTL / hop limit and TOS / traffic class. */
async function send6(o: { group: string; port: number; stream: number; count: number; rate: number; ttl: number; tos: number }): Promise<{ sent: number; errors: number }> {
  const c = new Child(ns.a, 'send6.py', [JSON.stringify({ ifname: ifs.a, ...o })]);
  try {
    return (await c.line(60_000)) as { sent: number; errors: number };
  } finally {
    await c.end();
  }
}

const rule = (ruleId: string, group: string, port: number, outGroup: string, outPort: number): NativeRule => ({
  id: ruleId,
  group,
  port,
  outputs: [{ group: outGroup, port: outPort, interface: ifs.rb, ttl: 4 }],
});

const open: Child[] = [];
async function track<T extends Child>(c: T): Promise<T> {
  open.push(c);
  return c;
}

describe.skipIf(reason)('native Forwarder through namespaces', () => {
  const N = 2000;
  const RATE = 4000;

  beforeAll(() => {
    try {
      createTopology();
    } catch (err) {
      destroyTopology();
      throw err;
    }
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.end()));
  });

  afterAll(() => {
    for (const p of children) p.kill('SIGKILL');
    destroyTopology();
  });

  it.each(['ring', 'blocks', 'mmsg'] as const)('one rule (%s): every packet arrives once, intact; counters agree', async (ingress) => {
    const port = { ring: 5001, blocks: 5002, mmsg: 5003 }[ingress];
    const inGroup = '239.1.1.1';
    const out = { group: '239.2.2.2', port: 6000 + port - 5000 };
    const relay = await track(await new Relay().ready());
    expect(await relay.create('f', { interface: ifs.ra, fanout: 'hash', fanoutId: -1, ingress, ringMiB: 8 })).toBeGreaterThanOrEqual(0);
    await relay.call('setRules', { name: 'f', rules: [rule('r1', inGroup, port, out.group, out.port)] });
    await relay.call('start', { name: 'f' });
    const recv = await track(await new Receiver([out]).ready());

    const sent = await send([{ group: inGroup, port, stream: 1 }], N, RATE);
    expect(sent).toEqual({ sent: N, errors: 0 });
    const got = (await recv.settled())[`${out.group}:${out.port}`];
    expect(got).toEqual({ received: N, unique: N, duplicates: 0, corrupt: 0 });

    const s = await relay.stats('f');
    expect(s).toMatchObject({ rx: N, matched: N, unmatched: 0, malformed: 0, kernelDrops: 0, tx: N, txErrors: 0 });
    expect(s.ringFreezes).toBe(0);
    let bytes = 0;
    for (let seq = 0; seq < N; seq++) bytes += 64 + (seq % 97);
    expect(s.rules).toEqual([{ id: 'r1', packets: N, bytes, outputs: [{ packets: N, bytes, errors: 0 }] }]);
    await relay.call('stop', { name: 'f' });
    await relay.call('stop', { name: 'f' }); // idempotent
    // Stats stay readable after stop.
    expect((await relay.stats('f')).tx).toBe(N);
  });

  it('setRules rejects bad input with context and keeps the previous table', async () => {
    const relay = await track(await new Relay().ready());
    await relay.create('f', { interface: ifs.ra, fanout: 'none', fanoutId: -1 });
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
    const relay = await track(await new Relay().ready());
    const first = await relay.create('f1', { interface: ifs.ra, fanout, fanoutId: -1 });
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await relay.create('f2', { interface: ifs.ra, fanout, fanoutId: first })).toBe(first);
    for (const f of ['f1', 'f2']) {
      await relay.call('setRules', { name: f, rules: [rule('r', inGroup, port, out.group, out.port)] });
      await relay.call('start', { name: f });
    }
    const recv = await track(await new Receiver([out]).ready());
    await send([{ group: inGroup, port, stream: 2 }], N, RATE);
    expect((await recv.settled())[`${out.group}:${out.port}`]).toEqual({ received: N, unique: N, duplicates: 0, corrupt: 0 });
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
    const relay = await track(await new Relay().ready());
    expect(await relay.create('f1', { interface: ifs.ra, fanout: 'none', fanoutId: -1 })).toBe(-1);
    expect(await relay.create('f2', { interface: ifs.ra, fanout: 'none', fanoutId: -1 })).toBe(-1);
    for (const f of ['f1', 'f2']) {
      await relay.call('setRules', { name: f, rules: [rule('r', inGroup, port, out.group, out.port)] });
      await relay.call('start', { name: f });
    }
    const recv = await track(await new Receiver([out]).ready());
    await send([{ group: inGroup, port, stream: 3 }], N, RATE);
    const got = (await recv.settled())[`${out.group}:${out.port}`];
    expect(got.unique).toBe(N);
    expect(got.corrupt).toBe(0);
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
    const relay = await track(await new Relay().ready());
    await relay.create('f', { interface: ifs.ra, fanout: 'hash', fanoutId: -1 });
    const t1 = [rule('kept', kept.group, kept.port, out.group, out.port)];
    // Same rule id and output count (counters carry over), plus an extra rule on another ttl/socket.
    const t2 = [
      { ...rule('kept', kept.group, kept.port, out.group, out.port) },
      { id: 'other', group: '239.1.1.6', port: 5042, outputs: [{ group: out2.group, port: out2.port, interface: ifs.rb, ttl: 9 }] },
    ];
    await relay.call('setRules', { name: 'f', rules: t1 });
    await relay.call('start', { name: 'f' });
    const recv = await track(await new Receiver([out]).ready());
    const count = 3000;
    const churn = relay.call('churn', { name: 'f', tables: [t2, t1], intervalMs: 2, durationMs: 1200 }, 20_000);
    const sent = await send(
      [
        { group: kept.group, port: kept.port, stream: 4 },
        { group: stray.group, port: stray.port, stream: 5 },
      ],
      count,
      2 * RATE,
    );
    const { swaps } = await churn;
    expect(sent.sent).toBe(2 * count);
    expect(swaps as number).toBeGreaterThan(100);
    await relay.call('setRules', { name: 'f', rules: t1 });
    expect((await recv.settled())[`${out.group}:${out.port}`]).toEqual({ received: count, unique: count, duplicates: 0, corrupt: 0 });
    const s = await relay.stats('f');
    expect(s).toMatchObject({ rx: 2 * count, matched: count, unmatched: count, malformed: 0, tx: count, txErrors: 0 });
    expect(s.rules).toEqual([expect.objectContaining({ id: 'kept', packets: count, outputs: [expect.objectContaining({ packets: count, errors: 0 })] })]);
  });

  it('kernel-assigned fanout ids: two new groups get different ids; joining needs the same mode', async () => {
    const relay = await track(await new Relay().ready());
    const a = await relay.create('a', { interface: ifs.ra, fanout: 'hash', fanoutId: -1 });
    const b = await relay.create('b', { interface: ifs.ra, fanout: 'hash', fanoutId: -1 });
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(a).not.toBe(b);
    // A second relay process (its own kernel-assigned group) does not collide either.
    const other = await track(await new Relay().ready());
    const c = await other.create('c', { interface: ifs.ra, fanout: 'hash', fanoutId: -1 });
    expect([a, b]).not.toContain(c);
    // Cross-process join of an existing group works; a different mode is refused by the kernel.
    expect(await other.create('d', { interface: ifs.ra, fanout: 'hash', fanoutId: a })).toBe(a);
    const refused = await other.request('create', { name: 'e', options: { interface: ifs.ra, fanout: 'cpu', fanoutId: a } });
    expect(refused.error).toBe(`PACKET_FANOUT join id ${a} on ${ifs.ra} failed: Invalid argument`);
    // Joining on another interface is refused too (a group is per device).
    const elsewhere = await other.request('create', { name: 'g', options: { interface: ifs.rb, fanout: 'hash', fanoutId: a } });
    expect(elsewhere.error).toBe(`PACKET_FANOUT join id ${a} on ${ifs.rb} failed: Invalid argument`);
    const unknown = await other.request('create', { name: 'h', options: { interface: 'nope0', fanout: 'hash', fanoutId: -1 } });
    expect(unknown.error).toBe("unknown interface 'nope0'");
  });
  it.each(['ring', 'blocks', 'mmsg'] as const)(
    'IPv6 in -> IPv6 and IPv4 out, IPv4 in -> IPv6 out (%s): every packet once, intact; hop limit decremented; traffic class carried or re-marked',
    async (ingress) => {
      const base = { ring: 6100, blocks: 6200, mmsg: 6300 }[ingress];
      const relay = await track(await new Relay().ready());
      await relay.create('f', { interface: ifs.ra, fanout: 'hash', fanoutId: -1, ingress, ringMiB: 8 });
      const rules: NativeRule[] = [
        {
          id: 'v6in',
          group: 'ff15::8',
          port: base,
          outputs: [
            { group: 'ff15::9', port: base + 1000, interface: ifs.rb, ttl: 16 },
            { group: '239.2.6.1', port: base + 1001, interface: ifs.rb, ttl: 16, dscp: 10 },
          ],
        },
        { id: 'v4in', group: '239.1.6.1', port: base + 1, outputs: [{ group: 'ff15::a', port: base + 1002, interface: ifs.rb, ttl: 3 }] },
      ];
      await relay.call('setRules', { name: 'f', rules });
      await relay.call('start', { name: 'f' });
      const recv = await track(await new Receiver6([
        { group: 'ff15::9', port: base + 1000 },
        { group: '239.2.6.1', port: base + 1001 },
        { group: 'ff15::a', port: base + 1002 },
      ]).ready());
      const n = 1000;
      // Hop limit 9 and traffic class 0xb9 (DSCP 46, ECT(1)); TTL 9 and TOS 0x28 (DSCP 10).
      const [sent6, sent4] = await Promise.all([
        send6({ group: 'ff15::8', port: base, stream: 61, count: n, rate: 2000, ttl: 9, tos: 0xb9 }),
        send6({ group: '239.1.6.1', port: base + 1, stream: 62, count: n, rate: 2000, ttl: 9, tos: 0x28 }),
      ]);
      expect([sent6, sent4]).toEqual([{ sent: n, errors: 0 }, { sent: n, errors: 0 }]);
      const got = await recv.settled();
      const whole = { received: n, unique: n, duplicates: 0, corrupt: 0 };
      // IPv6 -> IPv6: hop limit min(16, 9 - 1), traffic class as it came.
      expect(got[`ff15::9:${base + 1000}`]).toEqual({ ...whole, ttl: [8], tos: [0xb9] });
      // IPv6 -> IPv4 with DSCP 10 re-marked: the traffic class's ECN bits kept in the TOS byte.
      expect(got[`239.2.6.1:${base + 1001}`]).toEqual({ ...whole, ttl: [8], tos: [(10 << 2) | 1] });
      // IPv4 -> IPv6: hop limit min(3, 9 - 1), the TOS byte as traffic class.
      expect(got[`ff15::a:${base + 1002}`]).toEqual({ ...whole, ttl: [3], tos: [0x28] });
      const st = await relay.stats('f');
      expect(st).toMatchObject({ rx: 2 * n, matched: 2 * n, unmatched: 0, malformed: 0, kernelDrops: 0, tx: 3 * n, txErrors: 0, ttlExpired: 0 });
      expect(Object.values(st.dropped).every((v) => v === 0)).toBe(true);
      let bytes = 0;
      for (let seq = 0; seq < n; seq++) bytes += 64 + (seq % 97);
      expect(st.rules).toEqual([
        { id: 'v4in', packets: n, bytes, outputs: [{ packets: n, bytes, errors: 0 }] },
        { id: 'v6in', packets: n, bytes, outputs: [{ packets: n, bytes, errors: 0 }, { packets: n, bytes, errors: 0 }] },
      ]);
    },
  );

  it('IPv6 frames with extension headers are forwarded; each class the relay drops is counted under its own name', async () => {
    const port = 6400;
    const relay = await track(await new Relay().ready());
    await relay.create('f', { interface: ifs.ra, fanout: 'hash', fanoutId: -1 });
    await relay.call('setRules', { name: 'f', rules: [{ id: 'x', group: 'ff15::40', port, outputs: [{ group: 'ff15::41', port: port + 1000, interface: ifs.rb, ttl: 16 }] }] });
    await relay.call('start', { name: 'f' });
    const recv = await track(await new Receiver6([{ group: 'ff15::41', port: port + 1000 }]).ready());
    const to = { dst: 'ff15::40', src: addr6.a, dstPort: port, hopLimit: 5, trafficClass: 0x48 };
    const hbh = { type: 0 };
    const dest = { type: 60, size: 16 };
    const good = Array.from({ length: 50 }, (_, seq) => frame6({ ...to, ext: seq % 2 ? [hbh, dest] : [{ type: 43, size: 24 }, dest], payloadBytes: payloadOf(64, seq) }));
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
      frame6({ ...to, dst: 'fd00:254:1::2' }),
    ];
    await injectFrames(ns.a, ifs.a, [...good, ...bad], 1);
    expect((await recv.settled())[`ff15::41:${port + 1000}`]).toEqual({ received: 50, unique: 50, duplicates: 0, corrupt: 0, ttl: [4], tos: [0x48] });
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
      const relay = await track(await new Relay().ready());
      await relay.create('f', { interface: ifs.ra, fanout: 'hash', fanoutId: -1, ingress, ringMiB: 8 });
      await relay.call('setRules', { name: 'f', rules: [{ id: 'x', group: 'ff15::70', port, outputs: [{ group: 'ff15::71', port: port + 1000, interface: ifs.rb, ttl: 16 }] }] });
      await relay.call('start', { name: 'f' });
      const recv = await track(await new Receiver6([{ group: 'ff15::71', port: port + 1000 }]).ready());
      const to = { dst: 'ff15::70', src: addr6.a, dstPort: port, hopLimit: 5, trafficClass: 0x48 };
      const n = 60;
      const good: Buffer[] = [];
      let duplicates = 0;
      for (let seq = 0; seq < n; seq++) {
        // 72 to 168 bytes of UDP datagram in 48-byte fragments: 2 to 4 of them, the last of any length.
        const f = fragments6({ ...to, payloadBytes: payloadOf(70, seq), fragmentSize: 48, id: 1000 + seq });
        if (seq % 3 === 0) good.push(...f);
        else if (seq % 3 === 1) good.push(...[...f].reverse());
        else {
          // Two copies of every fragment but the last (a copy after completion would start a datagram of its own).
          const body = f.slice(0, -1);
          good.push(...body, ...body, f[f.length - 1]);
          duplicates += body.length;
        }
      }
      const overlapping = fragments6({ ...to, payloadBytes: payloadOf(70, 1), fragmentSize: 48, id: 5000 });
      const bad = [
        // Overlap: the second fragment 8 bytes early.
        overlapping[0],
        frame6({ ...to, ext: [{ type: 44, offset: 40 / 8, more: true, id: 5000 }], body: Buffer.alloc(16) }),
        // Incomplete: the first fragment alone, expired a second later.
        fragments6({ ...to, payloadBytes: payloadOf(70, 2), fragmentSize: 48, id: 6000 })[0],
        // Complete, but its UDP length is not the reassembled length.
        ...fragments6({ ...to, payloadBytes: payloadOf(70, 3), fragmentSize: 48, id: 7000, udpLengthDelta: 8 }),
        // Refused by the parser: a middle fragment of 12 bytes.
        frame6({ ...to, ext: [{ type: 44, offset: 6, more: true, id: 8000 }], body: Buffer.alloc(12) }),
      ];
      await injectFrames(ns.a, ifs.a, [...good, ...bad], 1);
      expect((await recv.settled())[`ff15::71:${port + 1000}`]).toEqual({ received: n, unique: n, duplicates: 0, corrupt: 0, ttl: [4], tos: [0x48] });
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
    const relay = await track(await new Relay().ready());
    // Blocks: a burst collects in one block (up to its 1 ms timeout), so a batch holds a run of the flow.
    await relay.create('f', { interface: ifs.ra, fanout: 'hash', fanoutId: -1, ingress: 'blocks', ringMiB: 8 });
    await relay.call('setRules', { name: 'f', rules: [{ id: 'g', group: 'ff15::60', port, outputs: [{ group: 'ff15::61', port: port + 1000, interface: ifs.rb, ttl: 16 }] }] });
    await relay.call('start', { name: 'f' });
    const recv = await track(await new Receiver6([{ group: 'ff15::61', port: port + 1000 }]).ready());
    const n = 2000;
    // Equal sizes (GSO cuts equal segments): sequence numbers 97 apart all make 64-byte payloads.
    const frames = Array.from({ length: n }, (_, i) => frame6({ dst: 'ff15::60', src: addr6.a, dstPort: port, hopLimit: 9, trafficClass: 0x20, payloadBytes: payloadOf(67, i * 97) }));
    await injectFrames(ns.a, ifs.a, frames, 1);
    expect((await recv.settled())[`ff15::61:${port + 1000}`]).toEqual({ received: n, unique: n, duplicates: 0, corrupt: 0, ttl: [8], tos: [0x20] });
    const st = await relay.stats('f');
    expect(st).toMatchObject({ rx: n, matched: n, tx: n, txErrors: 0 });
    expect(st.txMessages).toBeLessThan(n / 2);
  });

  it('the relay never receives its own transmissions (ETH_P_ALL socket): IPv4 and IPv6 sent back out of the input interface', async () => {
    const relay = await track(await new Relay().ready());
    await relay.create('f', { interface: ifs.ra, fanout: 'hash', fanoutId: -1 });
    // 'out' sends on the input interface to a group that 'echo' would forward, were the relay to see it.
    await relay.call('setRules', {
      name: 'f',
      rules: [
        { id: 'out6', group: 'ff15::50', port: 6500, outputs: [{ group: 'ff15::51', port: 6500, interface: ifs.ra, ttl: 8 }] },
        { id: 'echo6', group: 'ff15::51', port: 6500, outputs: [{ group: 'ff15::52', port: 6500, interface: ifs.rb, ttl: 8 }] },
        { id: 'out4', group: '239.1.6.50', port: 6501, outputs: [{ group: '239.1.6.51', port: 6501, interface: ifs.ra, ttl: 8 }] },
        { id: 'echo4', group: '239.1.6.51', port: 6501, outputs: [{ group: '239.1.6.52', port: 6501, interface: ifs.rb, ttl: 8 }] },
      ],
    });
    await relay.call('start', { name: 'f' });
    const n = 300;
    await Promise.all([
      send6({ group: 'ff15::50', port: 6500, stream: 65, count: n, rate: 2000, ttl: 9, tos: 0 }),
      send6({ group: '239.1.6.50', port: 6501, stream: 66, count: n, rate: 2000, ttl: 9, tos: 0 }),
    ]);
    await sleep(300);
    const st = await relay.stats('f');
    expect(st).toMatchObject({ rx: 2 * n, matched: 2 * n, tx: 2 * n, txErrors: 0, malformed: 0 });
    expect(Object.fromEntries(st.rules.map((r) => [r.id, r.packets]))).toEqual({ out6: n, echo6: 0, out4: n, echo4: 0 });
  });

  it('MLD helper sockets: a join shows in /proc/net/igmp6 (a source-specific one in /proc/net/mcfilter6), a leave removes it', async () => {
    const relay = await track(await new Relay().ready());
    const addon = async (fn: string, ...args: unknown[]) => (await relay.call('addon', { fn, args })).result;
    const read = async (file: string) => (await relay.call('read', { file })).text as string;
    const hex = (group: string) => Buffer.from(frame6({ dst: group }).subarray(14 + 24, 14 + 40)).toString('hex');
    const joined = async (group: string) => (await read('/proc/net/igmp6')).split('\n').some((l) => l.includes(ifs.rb) && l.includes(hex(group)));
    // (/proc/net/mcfilter6 prints at most 6 characters of a device name.)
    const filtered = async (group: string, source: string) => (await read('/proc/net/mcfilter6')).split('\n').some((l) => l.includes(` ${ifs.rb.slice(0, 6)} `) && l.includes(hex(group)) && l.includes(hex(source)));
    const fd = (await addon('igmpOpenSocket', 6)) as number;
    const v4 = (await addon('igmpOpenSocket')) as number;
    try {
      expect(await joined('ff15::77')).toBe(false);
      await addon('igmpJoin', fd, ifs.rb, 'ff15::77');
      expect(await joined('ff15::77')).toBe(true);
      await addon('igmpJoinSource', fd, ifs.rb, 'ff35::78', addr6.b);
      expect(await filtered('ff35::78', addr6.b)).toBe(true);
      expect(await joined('ff35::78')).toBe(true);
      // Family mismatches name the group; nothing is joined.
      expect((await relay.request('addon', { fn: 'igmpJoin', args: [v4, ifs.rb, 'ff15::79'] })).error).toBe('join ff15::79: an IPv6 group on an IPv4 helper socket');
      expect((await relay.request('addon', { fn: 'igmpJoin', args: [fd, ifs.rb, '239.7.7.7'] })).error).toBe('join 239.7.7.7: an IPv4 group on an IPv6 helper socket');
      expect(await joined('ff15::79')).toBe(false);
      await addon('igmpLeave', fd, ifs.rb, 'ff15::77');
      expect(await joined('ff15::77')).toBe(false);
      await addon('igmpLeaveSource', fd, ifs.rb, 'ff35::78', addr6.b);
      expect(await filtered('ff35::78', addr6.b)).toBe(false);
      expect(await joined('ff35::78')).toBe(false);
      // A socket's memberships end with it.
      await addon('igmpJoin', fd, ifs.rb, 'ff15::7a');
      expect(await joined('ff15::7a')).toBe(true);
    } finally {
      await addon('igmpClose', fd);
      await addon('igmpClose', v4);
    }
    expect(await joined('ff15::7a')).toBe(false);
  });
});
