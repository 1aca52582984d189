// The native Forwarder with real traffic, without mcrd: ns A (sender) --veth-- ns R (relay)
// --veth-- ns B (receiver). The addon opens its sockets in the network namespace of the calling
// thread, so the relay side runs in a child node process inside ns R (ip netns exec), driven over
// stdin/stdout with JSON lines; sender and receiver are small node dgram scripts in A and B.
// Traffic only ever goes to 239.x groups inside these namespaces.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, type ForwarderOptions, type ForwarderStats, type NativeRule } from '../../relay/src/native.js';

const addonPath = path.join(projectRoot, 'build', 'Release', 'mcr.node');

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
// Child scripts (written to a temp dir). Payload: 'MCRT' | stream u32 | seq u32 | pattern bytes.

const PAYLOAD_JS = `
export function payload(stream, seq) {
  const len = 64 + (seq % 97);
  const b = Buffer.alloc(len);
  b.write('MCRT', 0);
  b.writeUInt32BE(stream, 4);
  b.writeUInt32BE(seq, 8);
  for (let i = 12; i < len; i++) b[i] = (seq * 7 + stream * 13 + i) & 0xff;
  return b;
}
`;

const RELAY_JS = `
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
const addon = createRequire(import.meta.url)(process.argv[2]);
const forwarders = new Map();
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const get = (name) => { const f = forwarders.get(name); if (!f) throw new Error('no forwarder ' + name); return f; };
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  try {
    switch (m.op) {
      case 'create': { const f = new addon.Forwarder(m.options); forwarders.set(m.name, f); reply({ id: m.id, fanoutId: f.join() }); break; }
      case 'setRules': get(m.name).setRules(m.rules); reply({ id: m.id }); break;
      case 'start': get(m.name).start(); reply({ id: m.id }); break;
      case 'stats': reply({ id: m.id, stats: get(m.name).stats() }); break;
      case 'stop': get(m.name).stop(); reply({ id: m.id }); break;
      case 'churn': {
        // Swap whole tables every intervalMs for durationMs while traffic flows.
        const f = get(m.name);
        let swaps = 0;
        const timer = setInterval(() => { f.setRules(m.tables[swaps % m.tables.length]); swaps++; }, m.intervalMs);
        setTimeout(() => { clearInterval(timer); reply({ id: m.id, swaps }); }, m.durationMs);
        break;
      }
      default: throw new Error('unknown op ' + m.op);
    }
  } catch (e) {
    reply({ id: m.id, error: e.message, errorType: e.constructor.name });
  }
}).on('close', () => { for (const f of forwarders.values()) f.stop(); process.exit(0); });
reply({ id: 0, ready: true });
`;

const RECV_JS = `
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { payload } from './payload.mjs';
const { addr, subs } = JSON.parse(process.argv[2]);
const streams = {};
let bound = 0;
for (const { group, port } of subs) {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: 8 << 20 });
  s.on('message', (msg) => {
    const key = group + ':' + port;
    const st = (streams[key] ??= { received: 0, unique: 0, duplicates: 0, corrupt: 0, seen: new Set() });
    st.received++;
    if (msg.length < 12 || msg.toString('latin1', 0, 4) !== 'MCRT') { st.corrupt++; return; }
    const stream = msg.readUInt32BE(4), seq = msg.readUInt32BE(8);
    if (!payload(stream, seq).equals(msg)) { st.corrupt++; return; }
    if (st.seen.has(seq)) st.duplicates++; else { st.seen.add(seq); st.unique++; }
  });
  s.bind({ port, address: group }, () => {
    s.addMembership(group, addr);
    if (++bound === subs.length) process.stdout.write(JSON.stringify({ ready: true }) + '\\n');
  });
}
createInterface({ input: process.stdin }).on('line', () => {
  const out = {};
  for (const [k, v] of Object.entries(streams)) out[k] = { received: v.received, unique: v.unique, duplicates: v.duplicates, corrupt: v.corrupt };
  process.stdout.write(JSON.stringify(out) + '\\n');
}).on('close', () => process.exit(0));
`;

const SEND_JS = `
import dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { payload } from './payload.mjs';
const { addr, targets, count, rate } = JSON.parse(process.argv[2]);
const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
await new Promise((r) => s.bind({ address: addr, port: 0 }, r));
s.setMulticastInterface(addr);
s.setMulticastTTL(4);
s.setMulticastLoopback(false);
const total = count * targets.length;
const perTick = Math.max(1, Math.round(rate / 200)); // pace in 5 ms ticks
const startMs = performance.now();
let sent = 0, pending = 0, errors = 0;
for (let seq = 0; seq < count; seq++) {
  for (const t of targets) {
    pending++;
    s.send(payload(t.stream, seq), t.port, t.group, (err) => { pending--; if (err) errors++; });
    if (++sent % perTick === 0) {
      const wait = startMs + (sent / rate) * 1000 - performance.now();
      await (wait > 0 ? sleep(wait) : new Promise((r) => setImmediate(r)));
    }
  }
}
while (pending > 0) await sleep(1);
s.close();
process.stdout.write(JSON.stringify({ sent: total, errors }) + '\\n');
`;

// ---------------------------------------------------------------------------------------------

const id = randomBytes(2).toString('hex');
const ns = { a: `fw${id}a`, r: `fw${id}r`, b: `fw${id}b` };
const ifs = { a: `fw${id}a0`, ra: `fw${id}ra`, rb: `fw${id}rb`, b: `fw${id}b0` };
const addr = { a: '10.254.1.1', ra: '10.254.1.2', rb: '10.254.2.1', b: '10.254.2.2' };
const children = new Set<ChildProcessWithoutNullStreams>();
let dir = '';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function createTopology(): void {
  for (const n of Object.values(ns)) ip('netns', 'add', n);
  ip('link', 'add', 'name', ifs.a, 'netns', ns.a, 'type', 'veth', 'peer', 'name', ifs.ra, 'netns', ns.r);
  ip('link', 'add', 'name', ifs.rb, 'netns', ns.r, 'type', 'veth', 'peer', 'name', ifs.b, 'netns', ns.b);
  const up = (n: string, i: string, a: string) => {
    ip('-n', n, 'addr', 'add', `${a}/24`, 'dev', i);
    ip('-n', n, 'link', 'set', i, 'up');
  };
  for (const n of Object.values(ns)) ip('-n', n, 'link', 'set', 'lo', 'up');
  up(ns.a, ifs.a, addr.a);
  up(ns.r, ifs.ra, addr.ra);
  up(ns.r, ifs.rb, addr.rb);
  up(ns.b, ifs.b, addr.b);
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
    this.proc = spawn('ip', ['netns', 'exec', namespace, process.execPath, path.join(dir, script), ...args]);
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

class Receiver extends Child {
  constructor(subs: { group: string; port: number }[]) {
    super(ns.b, 'recv.mjs', [JSON.stringify({ addr: addr.b, subs })]);
  }
  async ready(): Promise<this> {
    await this.line();
    return this;
  }
  async counts(): Promise<StreamCounts> {
    this.proc.stdin.write('summary\n');
    return (await this.line()) as StreamCounts;
  }
  /** Counts once nothing changed for 300 ms (the relay has drained). */
  async settled(maxMs = 5000): Promise<StreamCounts> {
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

async function send(targets: { group: string; port: number; stream: number }[], count: number, rate: number): Promise<{ sent: number; errors: number }> {
  const c = new Child(ns.a, 'send.mjs', [JSON.stringify({ addr: addr.a, targets, count, rate })]);
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
    dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-fwtest-'));
    writeFileSync(path.join(dir, 'payload.mjs'), PAYLOAD_JS);
    writeFileSync(path.join(dir, 'relay.mjs'), RELAY_JS);
    writeFileSync(path.join(dir, 'recv.mjs'), RECV_JS);
    writeFileSync(path.join(dir, 'send.mjs'), SEND_JS);
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
    if (dir) rmSync(dir, { recursive: true, force: true });
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
    expect(await bad([{ ...good, group: 'x' }])).toMatch(/^rule good group: 'x' is not an IPv4 address/);
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
});
