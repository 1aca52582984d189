// Two hosts made of namespaces, for the hosts backend's own tests and for trying it without
// hardware: a tester and a DUT, each running Debian's OpenSSH server on a management link from
// this (the root) namespace, joined by two veth pairs that stand in for the cables (tester tx ->
// DUT input, DUT output -> tester rx). Nothing listens outside the namespaces; destroy is safe twice.
// Its management addresses are fixed (10.253.1.0/30, 10.253.2.0/30): one lab at a time.
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { nsSpawn } from './spawn.js';
import { newPrefix, withNamespaces } from './topology.js';

export interface LabHost {
  ns: string;
  /** Its management address, where its sshd listens (port 22). */
  address: string;
}

export interface HostsLab {
  prefix: string;
  tester: LabHost & { tx: string; rx: string };
  dut: LabHost & { input: string; output: string };
  /** The client's private key, authorized on both hosts. */
  key: string;
  /** A known_hosts file of the lab's own. */
  knownHosts: string;
  destroy(): Promise<void>;
}

export interface HostsLabOptions {
  /** Directory for keys, configurations and logs. */
  dir: string;
  /** The DUT's sshd sees no socat (a file bound over it in a mount namespace of its own). */
  dutWithoutSocat?: boolean;
}

const SSHD = '/usr/sbin/sshd';

/** Waits until something accepts TCP connections on address:22. */
async function listening(address: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: address, port: 22 }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${address}:22 did not listen within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function sshdConfig(dir: string, name: string, address: string): string {
  const file = path.join(dir, `sshd-${name}.conf`);
  writeFileSync(file, [
    `ListenAddress ${address}`,
    `HostKey ${path.join(dir, `host-${name}`)}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `PidFile ${path.join(dir, `sshd-${name}.pid`)}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The lab's directory is the harness's temporary one, not a home directory.
    'StrictModes no',
    '',
  ].join('\n'));
  return file;
}

export async function createHostsLab(o: HostsLabOptions): Promise<HostsLab> {
  mkdirSync(o.dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation directory
  const prefix = newPrefix();
  const { names: [testerNs, dutNs], destroy } = await withNamespaces(prefix, ['tester', 'dut']);
  try {
    const key = path.join(o.dir, 'client');
    await $`ssh-keygen -q -t ed25519 -N ${''} -C mcr-lab -f ${key}`;
    await $`cp ${key + '.pub'} ${path.join(o.dir, 'authorized_keys')}`;
    const hosts = [
      { name: 'tester', ns: testerNs, root: `${prefix}mt`, rootAddress: '10.253.1.1', address: '10.253.1.2' },
      { name: 'dut', ns: dutNs, root: `${prefix}md`, rootAddress: '10.253.2.1', address: '10.253.2.2' },
    ];
    for (const h of hosts) {
      await $`ip link add ${h.root} type veth peer name ${prefix}m netns ${h.ns}`;
      await $`ip addr add ${h.rootAddress}/30 dev ${h.root}`;
      await $`ip link set ${h.root} up`;
      await $`ip -n ${h.ns} addr add ${h.address}/30 dev ${prefix}m`;
      await $`ip -n ${h.ns} link set ${prefix}m up`;
      await $`ssh-keygen -q -t ed25519 -N ${''} -f ${path.join(o.dir, `host-${h.name}`)}`;
      const config = sshdConfig(o.dir, h.name, h.address);
      const sshd = h.name === 'dut' && o.dutWithoutSocat
        ? nsSpawn(h.ns, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount --bind /dev/null "$(command -v socat)" && exec ${SSHD} -D -e -f ${config}`], { reject: false, stdio: 'ignore' })
        : nsSpawn(h.ns, SSHD, ['-D', '-e', '-f', config], { reject: false, stdio: 'ignore' });
      sshd.catch(() => undefined); // ended with its namespace
      await listening(h.address);
    }
    // The cables: tester tx -> DUT input, DUT output -> tester rx.
    const [tx, input, output, rx] = ['tx', 'in', 'out', 'rx'].map((n) => `${prefix}${n}`);
    await $`ip link add ${tx} netns ${testerNs} type veth peer name ${input} netns ${dutNs}`;
    await $`ip link add ${output} netns ${dutNs} type veth peer name ${rx} netns ${testerNs}`;
    for (const [ns, ifname] of [[testerNs, tx], [dutNs, input], [dutNs, output], [testerNs, rx]]) await $`ip -n ${ns} link set ${ifname} up`;
    return {
      prefix,
      tester: { ns: testerNs, address: hosts[0].address, tx, rx },
      dut: { ns: dutNs, address: hosts[1].address, input, output },
      key,
      knownHosts: path.join(o.dir, 'known_hosts'),
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}
