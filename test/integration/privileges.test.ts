// Least privilege, read from the kernel: workers' credentials in /proc, who may use the control
// socket, and who changed what in the log.
import { execa } from 'execa';
import { chmodSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planStreams } from '../../harness/src/streams.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';
import { ruleFor, startRig, traffic, type Rig } from './relay-rig.js';

const reason = skipReason(['setpriv']);
announceSkip('privileges integration', reason);
const MCRCTL = path.join(projectRoot, 'bin', 'mcrctl.js');
const CAP_NET_RAW_ONLY = '0000000000002000'; // bit 13

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.destroy();
  rig = undefined;
});

/** "Key:\tvalue" lines of /proc/<pid>/status (or of one of its threads). */
function status(file: string): Record<string, string> {
  return Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

const workerPids = async (r: Rig) => (await r.mcrd.client.request<{ workers: { pid: number }[] }>('workers')).workers.map((w) => w.pid);
const newestLog = (r: Rig) => readFileSync(path.join(r.dir, readdirSync(r.dir).filter((f) => f.startsWith('mcrd-')).sort().at(-1)!), 'utf8');

/** mcrctl run as nobody:nogroup. */
const asNobody = (socket: string, ...args: string[]) =>
  execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MCRCTL, '--socket', socket, ...args], { reject: false });

describe.skipIf(reason)('least privilege', () => {
  it('workers run as nobody with only CAP_NET_RAW, in every thread, and forward', async () => {
    rig = await startRig(['--workers', '2']);
    const [s] = planStreams(1);
    await rig.mcrd.client.request('add', { rule: ruleFor(rig.chain, s) });
    const pids = await workerPids(rig);
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      const threads = readdirSync(`/proc/${pid}/task`);
      expect(threads.length).toBeGreaterThan(1); // node's own threads and the forwarding thread
      for (const tid of threads) {
        const st = status(`/proc/${pid}/task/${tid}/status`);
        expect(st.Uid.split(/\s+/), `thread ${tid}`).toEqual(['65534', '65534', '65534', '65534']);
        expect(st.Gid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
        expect(st.Groups).toBe('');
        expect({ eff: st.CapEff, prm: st.CapPrm, bnd: st.CapBnd, amb: st.CapAmb }).toEqual({ eff: CAP_NET_RAW_ONLY, prm: CAP_NET_RAW_ONLY, bnd: CAP_NET_RAW_ONLY, amb: CAP_NET_RAW_ONLY });
        expect(st.NoNewPrivs).toBe('1');
      }
    }
    const { gen, sink } = await traffic(rig.chain, [s], 2000, 2000, 41);
    expect(sink.streams[0].unique).toBe(gen.totalSent);
    expect(newestLog(rig)).toMatch(/workers run as nobody \(uid 65534\) with CAP_NET_RAW only/);
  });

  it('--user root keeps the old way, and says so', async () => {
    rig = await startRig(['--workers', '1', '--user', 'root']);
    await rig.mcrd.client.request('add', { rule: ruleFor(rig.chain, planStreams(1)[0]) });
    const [pid] = await workerPids(rig);
    expect(status(`/proc/${pid}/status`).Uid.split(/\s+/)[0]).toBe('0');
    expect(newestLog(rig)).toMatch(/workers run as root with every capability/);
  });

  it('the control socket is 0600: another user cannot connect; --control-group lets that group in, and changes are logged with uid and pid', async () => {
    rig = await startRig(['--workers', '1']);
    chmodSync(rig.dir, 0o755); // only the socket's own mode stands in the way
    const socket = rig.mcrd.socketPath;
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const refused = await asNobody(socket, 'ping');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/EACCES|permission denied/i);

    await rig.mcrd.stop();
    await rig.restart(['--workers', '1', '--control-group', 'nogroup']);
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    expect(statSync(socket).gid).toBe(65534);
    const c = rig.chain;
    const [s] = planStreams(1);
    const add = await asNobody(socket, 'add', '--input-interface', c.relayIn.ifname, '--input-group', s.inGroup, '--input-port', String(s.inPort), '--outputs', `${s.outGroup}:${s.outPort}:${c.relayOut.ifname}`);
    expect(add.stdout, add.stderr).toMatch(/added rule 1/);
    expect(newestLog(rig)).toMatch(new RegExp(`rule 1 added: ${s.inGroup.replace(/\./g, '\\.')}:${s.inPort} on ${c.relayIn.ifname} -> .* \\(by uid 65534 pid \\d+\\)`));
  });
});
