// The relay under the faults and operations of a plant: links that vanish and come back, restarts
// with a state file, config reloads, IGMP joins that fail, quick remove/add cycles, big changes.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { nsSpawn } from '../../netns/spawn.js';
import { sysctl } from '../../netns/sysctl.js';
import { recreateRelayInput } from '../../netns/faults.js';
import { runGenerator } from '../../harness/src/generator.js';
import { startSink, type SinkProgress } from '../../harness/src/sink.js';
import { planStreams } from '../../harness/src/streams.js';
import { type RuleWithState } from '../../relay/src/api.js';
import { capture } from './capture.js';
import { announceSkip, skipReason } from './env.js';
import { ruleFor, startRig, traffic, type Rig } from './relay-rig.js';
import { until } from './until.js';

const reason = skipReason(['tcpdump']);
announceSkip('relay lifecycle integration', reason);

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.destroy();
  rig = undefined;
});

const list = async (r: Rig) => (await r.mcrd.client.request<{ rules: RuleWithState[] }>('list')).rules;

/** Polls until the rules' states are `states` (the supervisor acts on link events asynchronously). */
async function waitForStates(r: Rig, states: string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = (await list(r)).map((x) => x.status.state);
    if (JSON.stringify(seen) === JSON.stringify(states)) return;
    await sleep(50);
  }
  throw new Error(`rule states ${JSON.stringify(seen)}, expected ${JSON.stringify(states)}`);
}

/** The log of the newest mcrd the rig started. */
const mcrdLog = (r: Rig) => readFileSync(path.join(r.dir, readdirSync(r.dir).filter((f) => f.startsWith('mcrd-')).sort().at(-1)!), 'utf8');

describe.skipIf(reason)('interface lifecycle', () => {
  it('input link deleted and re-created under the same name: workers restart, groups are joined again, forwarding resumes', async () => {
    rig = await startRig(['--workers', '2'], { topology: 'snooping' });
    const c = rig.chain;
    const [s] = planStreams(1);
    await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
    expect(await c.segment!.waitForJoins([s.inGroup], 5000)).toContain(s.inGroup);
    const pidsBefore = (await rig.mcrd.client.request<{ workers: { pid: number }[] }>('workers')).workers.map((w) => w.pid);

    // Traffic flows through the fault and until the sink has seen a second's worth after recovery:
    // the test waits on events (joins, rule state, arrivals), so a slow restart (sanitizers, a loaded
    // machine) takes longer but cannot look like a failure to resume.
    const rate = 3000;
    let progress: SinkProgress = { t: 0, received: 0, unique: 0, expected: 0 };
    const sink = await startSink(c.sink.ns, {
      interface: c.sink.ifname, streams: [`${s.outGroup}:${s.outPort}`], runId: 31,
      idleTimeoutMs: 60_000, maxWaitMs: 120_000, progressMs: 100, onProgress: (p) => (progress = p),
    });
    const stopGen = new AbortController();
    const gen = runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: [`${s.inGroup}:${s.inPort}`], rate, duration: 60, size: 256, runId: 31, signal: stopGen.signal });
    await until('traffic before the fault', () => progress.unique >= rate);
    await recreateRelayInput(c);
    // Only a fresh IGMP report puts the relay's new port back into the bridge's mdb.
    expect(await c.segment!.waitForJoins([s.inGroup], 10_000)).toContain(s.inGroup);
    await waitForStates(rig, ['forwarding']);
    const atRecovery = progress.unique;
    await until('packets after the recovery', () => progress.unique >= atRecovery + rate);
    stopGen.abort();
    const sent = (await gen).totalSent;
    await until(`the last packet sent (#${sent - 1})`, () => progress.expected >= sent);
    const got = (await sink.stop()).streams[0];

    // Every packet up to the last one sent is accounted for, none twice; what the outage lost is
    // less than what arrived.
    expect(got.maxSeq).toBe(sent - 1);
    expect(got.unique).toBeGreaterThan(sent / 2);
    expect(got.duplicates).toBe(0);
    const workers = (await rig.mcrd.client.request<{ workers: { pid: number; state: string }[] }>('workers')).workers;
    expect(workers.map((w) => w.state)).toEqual(['running', 'running']);
    expect(workers.some((w) => pidsBefore.includes(w.pid))).toBe(false);
    const log = mcrdLog(rig);
    expect(log).toMatch(new RegExp(`interface ${c.relayIn.ifname} is gone: its workers stopped; 1 rules wait for it`));
    expect(log).toMatch(new RegExp(`interface ${c.relayIn.ifname} is up \\(ifindex \\d+\\): workers running, 1 rules forwarding`));
    const igmp = (await rig.mcrd.client.request<{ igmp: { succeeded: number; activeGroups: number } }>('stats')).igmp;
    expect(igmp).toMatchObject({ succeeded: 2, activeGroups: 1 });
  });

  it('a rule for an interface that does not exist is refused, unless it asks to wait; it forwards once the interface appears', async () => {
    rig = await startRig(['--workers', '1']);
    const c = rig.chain;
    const [s] = planStreams(1);
    const later = { ...c.relayIn, ifname: `${c.prefix}rl` };
    const laterGen = { ...c.gen, ifname: `${c.prefix}gl`, addr: '10.251.3.2' };
    const rule = { ...ruleFor(c, s), inputInterface: later.ifname };
    await expect(rig.mcrd.client.request('add', { rule })).rejects.toThrow(new RegExp(`unknown interface '${later.ifname}' \\(waitForInterface: true`));
    await rig.mcrd.client.request('add', { rule: { ...rule, waitForInterface: true } });
    expect((await list(rig))[0].status).toEqual({ state: 'waiting', for: later.ifname });
    expect((await rig.mcrd.client.request<{ workers: unknown[] }>('workers')).workers).toEqual([]);

    await $`ip link add ${later.ifname} netns ${later.ns} type veth peer name ${laterGen.ifname} netns ${laterGen.ns}`;
    await $`ip -n ${later.ns} addr add 10.251.3.1/24 dev ${later.ifname}`;
    await sysctl(later.ns, `net.ipv4.conf.${later.ifname}.rp_filter`, 0);
    await $`ip -n ${laterGen.ns} addr add ${laterGen.addr}/24 dev ${laterGen.ifname}`;
    for (const h of [later, laterGen]) await $`ip -n ${h.ns} link set ${h.ifname} up`;
    await waitForStates(rig, ['forwarding']);

    const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: [`${s.outGroup}:${s.outPort}`], runId: 32, idleTimeoutMs: 800, maxWaitMs: 60_000 });
    const gen = await runGenerator(laterGen.ns, { interface: laterGen.ifname, streams: [`${s.inGroup}:${s.inPort}`], rate: 2000, count: 2000, size: 256, runId: 32 });
    expect((await sink.done).streams[0]).toMatchObject({ unique: gen.totalSent, duplicates: 0 });
  });

  it("an output interface deleted and re-created: the rule waits for it, then the workers' tables are rebuilt", async () => {
    rig = await startRig(['--workers', '2']);
    const c = rig.chain;
    const [s] = planStreams(1);
    await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
    await $`ip -n ${c.relayOut.ns} link del ${c.relayOut.ifname}`; // takes the sink's end with it
    await waitForStates(rig, ['waiting']);
    expect((await list(rig))[0].status).toEqual({ state: 'waiting', for: c.relayOut.ifname });

    await $`ip link add ${c.relayOut.ifname} netns ${c.relayOut.ns} type veth peer name ${c.sink.ifname} netns ${c.sink.ns}`;
    for (const h of [c.relayOut, c.sink]) {
      await $`ip -n ${h.ns} addr add ${h.addr}/24 dev ${h.ifname}`;
      await $`ip -n ${h.ns} link set ${h.ifname} up`;
    }
    await sysctl(c.sink.ns, `net.ipv4.conf.${c.sink.ifname}.rp_filter`, 0);
    await waitForStates(rig, ['forwarding']);
    const { gen, sink } = await traffic(c, [s], 3000, 2000, 33);
    expect(sink.streams[0]).toMatchObject({ unique: gen.totalSent, duplicates: 0 });
  });
});

describe.skipIf(reason)('state file and config reload', () => {
  it('every acknowledged change survives a SIGKILL of mcrd: a restart restores the rules with their ids and forwards', async () => {
    const stateFile = 'state.json';
    rig = await startRig(['--workers', '1']);
    const c = rig.chain;
    await rig.mcrd.stop();
    const args = ['--workers', '1', '--state-file', path.join(rig.dir, stateFile)];
    await rig.restart(args);
    const plans = planStreams(3);
    for (const s of plans) await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
    await rig.mcrd.client.request('remove', { name: 's2' });
    await rig.mcrd.client.request('apply', { add: [{ ...ruleFor(c, planStreams(4)[3]), waitForInterface: true }] });
    const before = await list(rig);
    process.kill(rig.mcrd.pid, 'SIGKILL'); // no shutdown code runs: only what was saved before each ack counts
    for (let i = 0; i < 100 && rig.mcrd.exitNote() === undefined; i++) await sleep(20);
    rig.mcrd.client.close();

    await rig.restart(args);
    const after = await list(rig);
    expect(after.map(({ id, name }) => [id, name])).toEqual([['1', 's1'], ['3', 's3'], ['4', 's4']]);
    expect(after.map(({ status, ...rule }) => rule)).toEqual(before.map(({ status, ...rule }) => rule));
    // Ids go on from where they were.
    expect((await rig.mcrd.client.request<{ rule: { id: string } }>('add', { rule: ruleFor(c, planStreams(5)[4]) })).rule.id).toBe('5');
    const { gen, sink } = await traffic(c, [plans[0], plans[2]], 1000, 1000, 34);
    for (const st of sink.streams) expect(st.unique).toBe(gen.totalSent / 2);
  });

  it('a corrupt state file is refused whole, with a message naming it', async () => {
    rig = await startRig(['--workers', '1']);
    const file = path.join(rig.dir, 'state.json');
    const c = rig.chain;
    const good = { format: 'mcrd-state', version: 1, savedAt: 'x', rules: [{ id: '1', ...ruleFor(c, planStreams(1)[0]) }] };
    for (const [content, why] of [
      ['{"format": "mcrd-state", "vers', /unreadable/],
      [JSON.stringify({ ...good, rules: [...good.rules, { ...good.rules[0], id: '2', inputGroup: '10.0.0.1' }] }), /rule 2 \(id 2\): input group: 10\.0\.0\.1 is not a multicast group/],
      [JSON.stringify({ ...good, version: 9 }), /version 9 is not supported/],
    ] as const) {
      writeFileSync(file, content);
      const r = await nsSpawn(c.relayIn.ns, process.execPath, [path.join(process.cwd(), 'bin/mcrd.js'), '--control-socket', path.join(rig.dir, 'other.sock'), '--state-file', file], { reject: false, timeout: 20_000 });
      expect(r.exitCode).toBe(1);
      expect(String(r.stderr)).toMatch(why);
      expect(String(r.stderr)).toMatch(`state file ${file}`);
      expect(String(r.stderr)).toMatch(/refusing to start with part of it/);
    }
  });

  it("SIGHUP applies the config file's difference as one change; runtime rules stay; a bad config changes nothing", async () => {
    rig = await startRig(['--workers', '1']);
    const c = rig.chain;
    const [a, b, x, d] = planStreams(4);
    const config = path.join(rig.dir, 'mcrd.json5');
    const writeConfig = (rules: unknown[]) => writeFileSync(config, JSON.stringify({ workers: 1, rules }));
    writeConfig([ruleFor(c, a), ruleFor(c, b)]);
    await rig.mcrd.stop();
    await rig.restart(['--config', config]);
    await rig.mcrd.client.request('add', { rule: { ...ruleFor(c, x), name: 'runtime' } });
    const ids = async () => Object.fromEntries((await list(rig!)).map((r) => [r.name, r.id]));
    expect(await ids()).toEqual({ s1: '1', s2: '2', runtime: '3' });

    // s1 unchanged, s2 changed (another output port), s4 new; a dropped rule would go.
    writeConfig([ruleFor(c, a), { ...ruleFor(c, b), outputs: [{ ...ruleFor(c, b).outputs[0], port: 7002 }] }, ruleFor(c, d)]);
    await $`ip netns exec ${c.relayIn.ns} kill -HUP ${String(rig.mcrd.pid)}`;
    for (let i = 0; i < 100 && !mcrdLog(rig).includes('config reloaded'); i++) await sleep(50);
    expect(mcrdLog(rig)).toMatch(/config reloaded: 1 rules added, 1 changed, 0 removed/);
    expect(await ids()).toEqual({ s1: '1', runtime: '3', s2: '4', s4: '5' });
    expect((await list(rig)).find((r) => r.name === 's2')!.outputs[0].port).toBe(7002);

    writeConfig([ruleFor(c, a), { ...ruleFor(c, d), inputGroup: '10.1.1.1' }]);
    await $`ip netns exec ${c.relayIn.ns} kill -HUP ${String(rig.mcrd.pid)}`;
    for (let i = 0; i < 100 && !mcrdLog(rig).includes('SIGHUP: config not reloaded'); i++) await sleep(50);
    expect(mcrdLog(rig)).toMatch(/SIGHUP: config not reloaded, nothing changed: config rule 2: input group: 10\.1\.1\.1 is not a multicast group/);
    expect(await ids()).toEqual({ s1: '1', runtime: '3', s2: '4', s4: '5' });

    writeConfig([ruleFor(c, a)]);
    await $`ip netns exec ${c.relayIn.ns} kill -HUP ${String(rig.mcrd.pid)}`;
    for (let i = 0; i < 100 && !mcrdLog(rig).includes('0 changed, 2 removed'); i++) await sleep(50);
    expect(await ids()).toEqual({ s1: '1', runtime: '3' });
  });
});

/** IGMPv3 state-change records tcpdump saw for `group`: 'to_ex' = join, 'to_in' = leave. */
async function captureIgmp(ns: string, ifname: string): Promise<{ stop(): Promise<string[]> }> {
  const running = await capture(ns, ifname, ['-v', 'igmp']);
  return { stop: async () => (await running.stop()).filter((l) => /gaddr/.test(l)) };
}

describe.skipIf(reason)('IGMP robustness', () => {
  it('a failed join is retried with backoff; the rule shows joining meanwhile and forwards once it succeeds', async () => {
    rig = await startRig(['--workers', '1', '--igmp-retry', '20/100']);
    const c = rig.chain;
    const [s] = planStreams(1);
    await sysctl(c.relayIn.ns, 'net.ipv4.igmp_max_memberships', 0); // every join fails with ENOBUFS
    try {
      await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
      const status = (await list(rig))[0].status;
      expect(status).toMatchObject({ state: 'joining', error: expect.stringMatching(/No buffer space available/) });
    } finally {
      await sysctl(c.relayIn.ns, 'net.ipv4.igmp_max_memberships', 20);
    }
    await waitForStates(rig, ['forwarding']);
    const igmp = (await rig.mcrd.client.request<{ igmp: { failed: number; succeeded: number; activeGroups: number } }>('stats')).igmp;
    expect(igmp.failed).toBeGreaterThan(0);
    expect(igmp).toMatchObject({ succeeded: 1, activeGroups: 1 });
  });

  it('a group removed and re-added within --igmp-leave-delay sends no leave and no join; after the delay it leaves', async () => {
    rig = await startRig(['--workers', '1', '--igmp-leave-delay', '3000']);
    const c = rig.chain;
    const [s] = planStreams(1);
    const capture = await captureIgmp(c.relayIn.ns, c.relayIn.ifname);
    await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
    await rig.mcrd.client.request('remove', { name: 's1' });
    await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
    await sleep(500);
    const igmp = async () => (await rig!.mcrd.client.request<{ igmp: { attempted: number; leaves: number; leaving: number } }>('stats')).igmp;
    expect(await igmp()).toMatchObject({ attempted: 1, leaves: 0, leaving: 0 });
    await rig.mcrd.client.request('remove', { name: 's1' });
    expect(await igmp()).toMatchObject({ leaves: 0, leaving: 1 });
    await sleep(3500);
    expect(await igmp()).toMatchObject({ attempted: 1, leaves: 1, leaving: 0 });
    const records = (await capture.stop()).filter((l) => l.includes(s.inGroup));
    const joins = records.filter((l) => /to_ex/.test(l)).length;
    const leaves = records.filter((l) => /to_in/.test(l)).length;
    // The kernel repeats each state change (robustness variable 2): one join, one leave, each sent twice at most.
    expect({ joins: joins > 0 && joins <= 2, leaves: leaves > 0 && leaves <= 2 }).toEqual({ joins: true, leaves: true });
  });
});

describe.skipIf(reason)('batch changes', () => {
  it('1000 rules in one apply are all in force and joined; pipelined single adds each get their own answer', async () => {
    rig = await startRig(['--workers', '2']);
    const c = rig.chain;
    const plans = planStreams(1000);
    const result = await rig.mcrd.client.request<{ added: unknown[] }>('apply', { add: plans.map((s) => ruleFor(c, s)) });
    expect(result.added).toHaveLength(1000);
    const stats = await rig.mcrd.client.request<{ igmp: { activeGroups: number }; rules: unknown[] }>('stats');
    expect(stats.igmp.activeGroups).toBe(1000);
    expect(stats.rules).toHaveLength(1000);
    const { gen, sink } = await traffic(c, [plans[0], plans[999]], 500, 500, 35);
    for (const st of sink.streams) expect(st.unique).toBe(gen.totalSent / 2);

    // Pipelined: 200 removes and 200 adds in flight at once, one of them bad; only it fails.
    const client = rig.mcrd.client;
    const removes = plans.slice(0, 200).map((s) => client.request('remove', { name: `s${s.stream}` }));
    const adds = planStreams(1200).slice(1000).map((s, i) => client.request('add', { rule: i === 50 ? { ...ruleFor(c, s), inputPort: 0 } : ruleFor(c, s) }));
    const settled = await Promise.allSettled([...removes, ...adds]);
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [[i, String(r.reason)]] : []));
    expect(failed).toEqual([[250, expect.stringMatching(/input port: port '0' out of range/)]]);
    expect((await list(rig)).length).toBe(1000 - 200 + 199);
  });
});
