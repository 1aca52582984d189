// mcrd and mcrctl as a user runs them: help, add/list/remove through the CLI, errors.
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChain, type Chain } from '../../netns/topology.js';
import { startMcrd, type RunningMcrd } from '../../harness/src/mcrd.js';
import { nsFetch } from '../../harness/src/ns-fetch.js';
import { parseSamples } from '../../harness/src/prometheus-text.js';
import { projectRoot, type RuleWithStats, type WorkerStats } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';
import { startRig, type Rig } from './relay-rig.js';

const MCRCTL = path.join(projectRoot, 'bin', 'mcrctl.js');
const MCRD = path.join(projectRoot, 'bin', 'mcrd.js');

describe('--help', () => {
  it('mcrd and mcrctl explain themselves', async () => {
    const d = await execa(process.execPath, [MCRD, '--help']);
    expect(d.stdout).toMatch(/--workers <n\|min\.\.max>[\s\S]*--fanout <mode>/);
    const c = await execa(process.execPath, [MCRCTL, '--help']);
    expect(c.stdout).toMatch(/add[\s\S]*remove[\s\S]*list[\s\S]*stats[\s\S]*workers[\s\S]*ping/);
    const w = await execa(process.execPath, [MCRCTL, 'workers', 'set', '--help']);
    expect(w.stdout).toMatch(/set \[options\] <count>[\s\S]*--interface <if>/);
  });

  it('mcrd rejects bad flags with a clear message and exit 2', async () => {
    const r = await execa(process.execPath, [MCRD, '--workers', '0', '--control-socket', '/tmp/never.sock'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/workers must be a count from 1 to 256 \(a fanout group's size\), or MIN\.\.MAX with MIN <= MAX to scale by load \(got 0\)/);
    const range = await execa(process.execPath, [MCRD, '--workers', '4..2', '--control-socket', '/tmp/never.sock'], { reject: false });
    expect(range.exitCode).toBe(2);
    expect(range.stderr).toMatch(/MIN <= MAX to scale by load \(got 4\.\.2\)/);
  });

  it('mcrctl says how to reach mcrd when nothing listens', async () => {
    const r = await execa(process.execPath, [MCRCTL, '--socket', '/tmp/mcr-nothing-here.sock', 'ping'], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to \/tmp\/mcr-nothing-here.sock.*is mcrd running/);
  });
});

const reason = skipReason();
announceSkip('mcrctl integration', reason);

describe.skipIf(reason)('mcrctl against a running mcrd', () => {
  let chain: Chain;
  let mcrd: RunningMcrd;
  beforeAll(async () => {
    chain = await createChain();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcrctl-'));
    mcrd = await startMcrd(chain.relayIn.ns, path.join(dir, 'mcrd.sock'), ['--workers', '2', '--interface', chain.relayIn.ifname, '--stats-interval', '0'], path.join(dir, 'mcrd.log'));
  });
  afterAll(async () => {
    mcrd?.client.close();
    await mcrd?.stop();
    await chain?.destroy();
  });
  const ctl = (...args: string[]) => execa(process.execPath, [MCRCTL, '--socket', mcrd.socketPath, ...args], { reject: false });

  it('adds, lists, shows stats and workers, removes', async () => {
    const add = await ctl('add', '--input-interface', chain.relayIn.ifname, '--input-group', '239.1.0.1', '--input-port', '5000', '--outputs', `239.2.0.1:5000:${chain.relayOut.ifname},239.2.0.2:6000:${chain.relayOut.ifname}:4`, '--name', 'cam1');
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/added rule 1/);
    const list = await ctl('list');
    expect(list.stdout).toMatch(new RegExp(`1\\s+cam1\\s+239.1.0.1:5000:${chain.relayIn.ifname}\\s+239.2.0.1:5000:${chain.relayOut.ifname},239.2.0.2:6000:${chain.relayOut.ifname}:4\\s+forwarding`));
    const json = JSON.parse((await ctl('--json', 'list')).stdout) as { rules: { outputs: { ttl: number }[] }[] };
    expect(json.rules[0].outputs.map((o) => o.ttl)).toEqual([8, 4]);
    expect((await ctl('workers')).stdout.split('\n').filter((l) => l.includes('running'))).toHaveLength(2);
    expect((await ctl('stats')).stdout).toMatch(/IGMP: attempted=1 succeeded=1 failed=0 active_groups=1/);
    expect((await ctl('ping')).stdout).toBe('pong');
    expect((await ctl('remove', '--name', 'cam1')).stdout).toBe('removed rule 1');
    expect((await ctl('list')).stdout).toBe('no rules');
  });

  it('apply -f: a file of rules goes in as one change, all or nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcrctl-apply-'));
    const rule = (i: number) => ({ name: `a${i}`, inputInterface: chain.relayIn.ifname, inputGroup: `239.7.0.${i}`, inputPort: 5000, outputs: [{ group: '239.8.0.1', port: 6000 + i, interface: chain.relayOut.ifname }] });
    const file = (name: string, doc: unknown) => {
      const f = path.join(dir, name);
      writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return f;
    };
    const ok = await ctl('apply', '-f', file('three.json5', [rule(1), rule(2), rule(3)]));
    expect(ok.stdout, ok.stderr).toBe('applied: 3 added, 0 removed');
    // The third add clashes with a1's input: nothing of the file happens, a1 is not removed.
    const clash = await ctl('apply', '-f', file('clash.json5', { remove: [{ name: 'a1' }], add: [rule(4), rule(5), { ...rule(2), name: 'other' }] }));
    expect(clash.exitCode).toBe(1);
    expect(clash.stderr).toMatch(/^mcrctl: apply: add 3: duplicate rule: 239\.7\.0\.2:5000 .* nothing changed$/);
    const names = async () => (JSON.parse((await ctl('--json', 'list')).stdout) as { rules: { name: string }[] }).rules.map((r) => r.name);
    expect(await names()).toEqual(['a1', 'a2', 'a3']);
    const mixed = await ctl('apply', '-f', file('mixed.json5', "{ remove: [{ name: 'a1' }, { name: 'a2' }], add: [" + JSON.stringify(rule(4)) + '] } // JSON5'));
    expect(mixed.stdout, mixed.stderr).toBe('applied: 1 added, 2 removed');
    expect(await names()).toEqual(['a3', 'a4']);
    expect((await ctl('apply', '-f', file('bad.json5', '{ rules: [] }'))).stderr).toMatch(/unknown key 'rules'/);
    expect((await ctl('apply', '-f', file('remove-rest.json5', { remove: [{ name: 'a3' }, { name: 'a4' }] }))).stdout).toBe('applied: 0 added, 2 removed');
  });

  it("prints the server's message and exits 1 on a bad request", async () => {
    const r = await ctl('add', '--input-interface', chain.relayIn.ifname, '--input-group', '10.0.0.1', '--input-port', '5000', '--outputs', `239.2.0.1:5000:${chain.relayOut.ifname}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe('mcrctl: input group: 10.0.0.1 is not a multicast group (224.0.0.0/4 or ff00::/8)');
    const bad = await ctl('add', '--input-interface', chain.relayIn.ifname, '--input-group', '239.1.1.1', '--input-port', '5000', '--outputs', 'nonsense');
    expect(bad.stderr).toMatch(/must look like GROUP:PORT:INTERFACE/);
    expect((await ctl('remove', '--id', '99')).stderr).toBe("mcrctl: no rule with id '99'");
  });
});

describe.skipIf(reason)('mcrctl at 10,000 rules', () => {
  const RULES = 10_000;
  // The relay namespace is the test's own: the port is free.
  const METRICS = '127.0.0.1:9108';
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(['--workers', '2', '--metrics-listen', METRICS]);
  });
  afterAll(async () => {
    await rig?.destroy();
  });
  const ctl = (...args: string[]) => execa(process.execPath, [MCRCTL, '--socket', rig.mcrd.socketPath, ...args], { reject: false });

  it('applies them from one file (IGMP joining each group); list, stats, stats --json, workers and /metrics answer with every rule', async () => {
    const { relayIn, relayOut } = rig.chain;
    const rules = Array.from({ length: RULES }, (_, i) => ({ name: `r${i}`, inputInterface: relayIn.ifname, inputGroup: `239.9.${i >> 8}.${i & 255}`, inputPort: 5000, outputs: [{ group: '239.10.0.1', port: 6000, interface: relayOut.ifname }] }));
    const file = path.join(rig.dir, 'rules.json5');
    writeFileSync(file, JSON.stringify(rules, null, 2)); // 2.4 MB; 1.6 MB on the wire, over the 1 MiB lines of before
    const applied = await ctl('apply', '-f', file);
    expect(applied.stdout, applied.stderr).toBe(`applied: ${RULES} added, 0 removed`);

    const list = await ctl('list');
    expect(list.stdout.split('\n').filter((l) => /^\d+ +r\d+ .* forwarding$/.test(l)), list.stderr).toHaveLength(RULES);
    expect((JSON.parse((await ctl('--json', 'list')).stdout) as { rules: unknown[] }).rules).toHaveLength(RULES);

    const stats = await ctl('stats');
    expect(stats.stdout.split('\n').filter((l) => /^\d+ +239\.9\./.test(l)), stats.stderr).toHaveLength(RULES);
    expect(stats.stdout).toMatch(new RegExp(`IGMP: attempted=${RULES} succeeded=${RULES} failed=0 active_groups=${RULES} `));
    const json = JSON.parse((await ctl('--json', 'stats')).stdout) as { rules: RuleWithStats[]; workers: WorkerStats[]; igmp: { activeGroups: number } };
    expect(json.rules).toHaveLength(RULES);
    expect(json.igmp.activeGroups).toBe(RULES);
    expect(json.workers.map((w) => w.stats?.rules.length)).toEqual([RULES, RULES]);

    expect((await ctl('workers')).stdout.split('\n').filter((l) => l.includes('running'))).toHaveLength(2);

    const scrape = await nsFetch(relayIn.ns, `http://${METRICS}/metrics`, 60_000);
    expect(scrape.status).toBe(200);
    const samples = parseSamples(scrape.body);
    expect(samples.filter((s) => s.name === 'mcr_rule_state' && s.labels.state === 'forwarding' && s.value === 1)).toHaveLength(RULES);
    expect(new Set(samples.filter((s) => s.name === 'mcr_rule_packets_total').map((s) => s.labels.rule_id)).size).toBe(RULES);
    expect(samples.find((s) => s.name === 'mcr_igmp_active_groups')?.value).toBe(RULES);
  });
});
