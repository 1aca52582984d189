// Checks that a tester and a DUT can run the scenarios before any traffic: each reachable over SSH
// as root, on the same build of the project as here, with the tools its role runs and the
// interfaces the inventory names; what it found (kernel, NIC driver, speed, MTU) is recorded.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../../relay/src/api.js';
import type { Dut, HostEntry, Inventory, Tester } from './inventory.js';
import { SshHost } from './ssh.js';

export interface HostCheck {
  host: 'tester' | 'dut';
  what: string;
  pass: boolean;
  detail: string;
}

export interface NicFacts {
  ifname: string;
  driver: string;
  /** Mb/s as the driver reports it (-1: unknown, e.g. veth). */
  speedMbps: number;
  mtu: number;
}

export interface HostFacts {
  kernel: string;
  commit: string;
  nics: NicFacts[];
}

export interface HostsReport {
  checks: HostCheck[];
  facts: Partial<Record<'tester' | 'dut', HostFacts>>;
}

export const describeHostCheck = (c: HostCheck) => `${c.pass ? 'PASS' : 'FAIL'} ${c.host}: ${c.what}: ${c.detail}`;

/** Shell-quotes one word for the remote shell. */
const q = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

async function localCommit(): Promise<string> {
  const r = await execa('git', ['-C', projectRoot, 'rev-parse', 'HEAD'], { reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : 'unknown';
}

/** What the role runs there: the tester's instrument, the DUT's relay and socat. */
function toolChecks(role: 'tester' | 'dut', entry: HostEntry): { what: string; command: string; missing: string }[] {
  const built = (file: string) => `test -e ${q(path.posix.join(entry.dir, file))} && echo ${q(path.posix.join(entry.dir, file))}`;
  if (role === 'tester') {
    return [
      { what: 'mcr-gen', command: built('build/Release/mcr-gen'), missing: `not built in ${entry.dir} (npm install there)` },
      { what: 'mcr-sink', command: built('build/Release/mcr-sink'), missing: `not built in ${entry.dir} (npm install there)` },
    ];
  }
  return [
    // Run, not only found: a file that cannot run is no tool.
    { what: 'node', command: 'node --version', missing: 'not found or does not run (Node 20 or later)' },
    { what: 'the relay (mcr.node, mcrd)', command: `${built('build/Release/mcr.node')} && ${built('dist/relay/src/cli/mcrd.js')}`, missing: `not built in ${entry.dir} (npm install there)` },
    { what: 'socat', command: "socat -V 2>/dev/null | grep -m1 '^socat version'", missing: 'not found or does not run (apt-get install socat)' },
  ];
}

async function nicFacts(host: SshHost, ifname: string): Promise<NicFacts | string> {
  const sys = `/sys/class/net/${ifname}`;
  const r = await host.run(`test -e ${q(sys)} || exit 3; cat ${q(sys + '/mtu')}; cat ${q(sys + '/speed')} 2>/dev/null || echo -1; ethtool -i ${q(ifname)} 2>/dev/null | sed -n 's/^driver: //p'`);
  if (r.exitCode === 3) return 'no such interface';
  if (r.exitCode !== 0) return `could not read it: ${r.stderr.trim()}`;
  const [mtu, speed, driver] = r.stdout.split('\n');
  return { ifname, driver: driver?.trim() || 'unknown', speedMbps: Number(speed) || -1, mtu: Number(mtu) };
}

async function checkHost(role: 'tester' | 'dut', entry: Tester | Dut, ifnames: string[], controlDir: string, commit: string): Promise<{ checks: HostCheck[]; facts?: HostFacts }> {
  const checks: HostCheck[] = [];
  const add = (what: string, pass: boolean, detail: string) => checks.push({ host: role, what, pass, detail });
  let host: SshHost;
  try {
    host = await SshHost.connect(role, entry, controlDir);
  } catch (err) {
    add('reachable over SSH', false, (err as Error).message);
    return { checks };
  }
  try {
    add('reachable over SSH', true, `${entry.ssh}, port ${entry.port}`);
    const id = await host.run('id -u');
    add('root', id.stdout.trim() === '0', id.stdout.trim() === '0' ? 'uid 0' : `uid ${id.stdout.trim() || '?'}: namespaces, AF_PACKET and the relay's start need root`);
    const kernel = (await host.run('uname -sr')).stdout.trim();
    add('kernel', kernel !== '', kernel || 'uname failed');
    const remoteCommit = (await host.run(`git -C ${q(entry.dir)} rev-parse HEAD 2>/dev/null || echo unknown`)).stdout.trim();
    add('same build as here', remoteCommit === commit, remoteCommit === commit ? `commit ${commit.slice(0, 12)} in ${entry.dir}` : `${entry.dir} is at ${remoteCommit.slice(0, 12)}, this checkout at ${commit.slice(0, 12)}`);
    for (const tool of toolChecks(role, entry)) {
      const r = await host.run(tool.command);
      add(tool.what, r.exitCode === 0, r.exitCode === 0 ? r.stdout.trim().split('\n').join(', ') : tool.missing);
    }
    const nics: NicFacts[] = [];
    for (const ifname of ifnames) {
      const nic = await nicFacts(host, ifname);
      if (typeof nic === 'string') add(`interface ${ifname}`, false, nic);
      else {
        nics.push(nic);
        add(`interface ${ifname}`, true, `driver ${nic.driver}, ${nic.speedMbps > 0 ? `${nic.speedMbps} Mb/s` : 'speed unknown'}, MTU ${nic.mtu}`);
      }
    }
    return { checks, facts: { kernel, commit: remoteCommit, nics } };
  } finally {
    await host.close();
  }
}

/** Every check of both hosts (one SSH connection each, closed after). */
export async function checkHosts(inventory: Inventory): Promise<HostsReport> {
  const controlDir = mkdtempSync(path.join(os.tmpdir(), 'mcr-ssh-'));
  try {
    const commit = await localCommit();
    const [tester, dut] = await Promise.all([
      checkHost('tester', inventory.tester, [inventory.tester.tx, inventory.tester.rx], controlDir, commit),
      checkHost('dut', inventory.dut, [inventory.dut.input, inventory.dut.output], controlDir, commit),
    ]);
    return { checks: [...tester.checks, ...dut.checks], facts: { ...(tester.facts ? { tester: tester.facts } : {}), ...(dut.facts ? { dut: dut.facts } : {}) } };
  } finally {
    rmSync(controlDir, { recursive: true, force: true });
  }
}
