// contrib/mcrd.service, run: mcrd started under exactly the unit's capability bounding set,
// ambient set and NoNewPrivileges (read from the file and applied with setpriv, so this test
// follows the file), driven through what a service lives through: a start with a state file and a
// config, --control-group, rules added and forwarding, SIGHUP, a worker hung with SIGSTOP, shutdown
// (issue 21, item 1). The rest of the unit's sandbox (ProtectSystem, PrivateTmp, ...) needs systemd
// as PID 1, which this machine does not have; test/unit/service-unit.test.ts verifies its syntax.
import { execa } from 'execa';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createChain, type Chain } from '../../netns/topology.js';
import { nsSpawn } from '../../netns/spawn.js';
import { MCRD } from '../../harness/src/mcrd.js';
import { planStreams } from '../../harness/src/streams.js';
import { ControlClient, projectRoot, saveState } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';
import { ruleFor, traffic } from './relay-rig.js';

const reason = skipReason(['setpriv']);
announceSkip('service unit under its own limits', reason);
const MCRCTL = path.join(projectRoot, 'bin', 'mcrctl.js');
const UNIT = path.join(projectRoot, 'contrib', 'mcrd.service');

/** Capability numbers (linux/capability.h) of the names a unit may list. */
const CAP_NUMBERS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7,
  CAP_SETPCAP: 8, CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_SYS_ADMIN: 21, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24,
};

/** The [Service] settings the kernel enforces: bounding set, ambient set, no_new_privs. */
function unitLimits(text: string): { bounding: string[]; ambient: string[]; noNewPrivileges: boolean } {
  const values = (key: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${key}=`))
      .flatMap((l) => l.slice(key.length + 1).trim().split(/\s+/).filter(Boolean));
  const caps = (key: string) => {
    const list = values(key);
    if (list.some((c) => c.startsWith('~'))) throw new Error(`${key}: an inverted (~) list is not understood by this test`);
    for (const c of list) if (!(c in CAP_NUMBERS)) throw new Error(`${key}: ${c} unknown to this test`);
    return list;
  };
  const nnp = values('NoNewPrivileges').at(-1);
  return { bounding: caps('CapabilityBoundingSet'), ambient: caps('AmbientCapabilities'), noNewPrivileges: nnp === 'yes' || nnp === 'true' };
}

/** setpriv's arguments for those limits, as systemd applies them to a root service. */
function setprivFor(limits: ReturnType<typeof unitLimits>): string[] {
  const list = (caps: string[]) => ['-all', ...caps.map((c) => `+${c.slice(4).toLowerCase()}`)].join(',');
  return [
    `--bounding-set=${list(limits.bounding)}`,
    ...(limits.ambient.length ? [`--inh-caps=${list(limits.ambient)}`, `--ambient-caps=${list(limits.ambient)}`] : []),
    ...(limits.noNewPrivileges ? ['--no-new-privs'] : []),
  ];
}

const capMask = (caps: string[]) => caps.reduce((m, c) => m | (1n << BigInt(CAP_NUMBERS[c])), 0n).toString(16).padStart(16, '0');
const status = (pid: number) => Object.fromEntries(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && status(pid).State?.[0] !== 'Z';

interface Limited {
  pid: number;
  client: ControlClient;
  exited: Promise<{ exitCode?: number; signal?: string }>;
  log: () => string;
}

/** mcrd under setpriv in the relay namespace, as the unit's ExecStart runs it; resolves once it answers. */
async function startLimited(chain: Chain, dir: string, limits: ReturnType<typeof unitLimits>, args: string[]): Promise<Limited> {
  const logFile = path.join(dir, `mcrd-${Date.now()}.log`);
  const out = createWriteStream(logFile);
  const child = nsSpawn(chain.relayIn.ns, 'setpriv', [...setprivFor(limits), process.execPath, MCRD, '--control-socket', path.join(dir, 'mcrd.sock'), '--stats-interval', '0', ...args], { reject: false, stdout: 'pipe', stderr: 'pipe' });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  let done: { exitCode?: number; signal?: string } | undefined;
  const exited = child.then((r) => (done = { exitCode: r.exitCode, signal: r.signal }));
  const log = () => readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (done) throw new Error(`mcrd exited at start (${JSON.stringify(done)}):\n${log()}`);
    try {
      const client = await ControlClient.connect(path.join(dir, 'mcrd.sock'), 1000);
      await client.request('ping');
      return { pid: child.pid!, client, exited, log };
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`mcrd did not answer within 15 s: ${(err as Error).message}\n${log()}`);
      }
      await sleep(50);
    }
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

interface WorkerRow { interface: string; index: number; pid: number | null; state: string; restarts: number }
const workers = async (c: ControlClient) => (await c.request<{ workers: WorkerRow[] }>('workers')).workers;

let chain: Chain | undefined;
let running: Limited | undefined;
/** A worker the test stopped: killed at the end whatever happened, so nothing waits on it. */
let stopped: number | undefined;
afterEach(async () => {
  if (stopped && alive(stopped)) process.kill(stopped, 'SIGKILL');
  stopped = undefined;
  running?.client.close();
  if (running && alive(running.pid)) {
    process.kill(running.pid, 'SIGKILL');
    await running.exited;
  }
  running = undefined;
  await chain?.destroy();
  chain = undefined;
});

describe.skipIf(reason)('contrib/mcrd.service, run under its own limits', () => {
  const limits = unitLimits(readFileSync(UNIT, 'utf8'));

  it('reads the limits it applies from the unit', () => {
    expect(limits.bounding.length).toBeGreaterThan(0);
    expect(limits.noNewPrivileges).toBe(true);
  });

  it('starts from a state file and a config, serves --control-group, forwards, reloads on SIGHUP, survives a hung worker and shuts down', async () => {
    chain = await createChain();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-unit-'));
    chmodSync(dir, 0o755); // only the socket's mode decides who may connect
    const [s1, s2] = planStreams(2);
    const stateFile = path.join(dir, 'state.json');
    saveState(stateFile, [{ id: '1', ...ruleFor(chain, s1), outputs: [{ ...ruleFor(chain, s1).outputs[0], ttl: 8 }] }]);
    const config = path.join(dir, 'mcrd.json5');
    const cfgRule = (port: number) => ({ name: 'cfg', inputInterface: chain!.relayIn.ifname, inputGroup: '239.1.9.1', inputPort: 5000, outputs: [{ group: '239.2.9.1', port, interface: chain!.relayOut.ifname }] });
    writeFileSync(config, JSON.stringify({ rules: [cfgRule(5000)] }));

    running = await startLimited(chain, dir, limits, ['--workers', '2', '--state-file', stateFile, '--config', config, '--control-group', 'nogroup']);
    const c = running.client;
    // The limits hold: mcrd's bounding set is the unit's, no_new_privs is set.
    const st = status(running.pid);
    expect(st.CapBnd).toBe(capMask(limits.bounding));
    expect(st.NoNewPrivs).toBe('1');

    // The state file's rule and the config's are there.
    const names = async () => (await c.request<{ rules: { name?: string; outputs: { port: number }[] }[] }>('list')).rules;
    expect((await names()).map((r) => r.name).sort()).toEqual(['cfg', 's1']);

    // --control-group: the socket is the group's, and a member of it may change rules.
    const socket = path.join(dir, 'mcrd.sock');
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    expect(statSync(socket).gid).toBe(65534);
    const asNobody = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MCRCTL, '--socket', socket, 'add', '--name', 's2', '--input-interface', chain.relayIn.ifname, '--input-group', s2.inGroup, '--input-port', String(s2.inPort), '--outputs', `${s2.outGroup}:${s2.outPort}:${chain.relayOut.ifname}`], { reject: false });
    expect(asNobody.stdout, asNobody.stderr).toMatch(/added rule/);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).rules.map((r: { name: string }) => r.name).sort()).toEqual(['cfg', 's1', 's2']);

    // Forwarding, with the workers started under these limits.
    const { gen, sink } = await traffic(chain, [s1, s2], 500, 1000, 71);
    for (const stream of sink.streams) expect(stream.unique, `stream ${stream.stream}`).toBe(gen.totalSent / 2);

    // SIGHUP: the config's rule changes.
    writeFileSync(config, JSON.stringify({ rules: [cfgRule(6000)] }));
    process.kill(running.pid, 'SIGHUP');
    await until('config reloaded', async () => ((await names()).find((r) => r.name === 'cfg')?.outputs[0].port === 6000 ? true : undefined), 10_000);

    // Shutdown with a worker that cannot answer 'stop': mcrd must SIGKILL it (CAP_KILL: workers
    // are another user) and exit 0, leaving no worker and no socket behind.
    const [hung, other] = await workers(c);
    process.kill((stopped = hung.pid!), 'SIGSTOP');
    process.kill(running.pid, 'SIGTERM');
    const exit = await Promise.race([running.exited, sleep(20_000).then(() => ({ exitCode: -1 }))]);
    expect(exit, running.log()).toEqual({ exitCode: 0, signal: undefined });
    expect(alive(hung.pid!)).toBe(false);
    expect(alive(other.pid!)).toBe(false);
    expect(existsSync(socket)).toBe(false);
    expect(running.log()).not.toMatch(/EPERM|Unhandled|uncaught/i);
  });

  // mcrd asks every running worker for its load each 5 s; one that leaves a request unanswered for
  // 5 s is killed and restarted (before that, nothing noticed: 'hung worker replaced: not within 30000 ms').
  it('a hung worker (SIGSTOP) is killed and restarted; mcrd stays up', async () => {
    chain = await createChain();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-unit-'));
    const [s1] = planStreams(1);
    running = await startLimited(chain, dir, limits, ['--workers', '2']);
    const c = running.client;
    await c.request('add', { rule: ruleFor(chain, s1) });
    const [hung] = await workers(c);
    process.kill((stopped = hung.pid!), 'SIGSTOP');
    await c.request('stats'); // its stats request times out: the supervisor learns it hangs
    const back = await until('hung worker replaced', async () => {
      const w = (await workers(c)).find((x) => x.interface === hung.interface && x.index === hung.index);
      return w && w.pid !== hung.pid && w.state === 'running' ? w : undefined;
    }, 30_000);
    expect(back.restarts).toBeGreaterThan(hung.restarts);
    expect(alive(hung.pid!)).toBe(false);
    expect(alive(running.pid)).toBe(true);
    await expect(c.request('ping')).resolves.toEqual({ pong: true });
  });

  it('without CAP_CHOWN, --control-group is refused with a logged error and mcrd serves its owner (0600)', async () => {
    chain = await createChain();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-unit-'));
    running = await startLimited(chain, dir, { ...limits, bounding: limits.bounding.filter((cap) => cap !== 'CAP_CHOWN') }, ['--workers', '1', '--control-group', 'nogroup']);
    expect(statSync(path.join(dir, 'mcrd.sock')).mode & 0o777).toBe(0o600);
    expect(running.log()).toMatch(/--control-group.*(EPERM|not permitted).*0600/);
    await expect(running.client.request('ping')).resolves.toEqual({ pong: true });
  });
});
