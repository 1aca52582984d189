// npm run setup: makes this machine ready for the scenarios and tests. Installs the Debian
// packages they use (what is missing only), then checks the kernel features the relay and the
// harness rely on, each in a namespace of its own, and prints what it found. Exit 1 when
// something is still missing, naming it; 2 when it cannot run (not root, no apt-get).
import path from 'node:path';
import { Command } from 'commander';
import { $, within } from 'zx';
import { projectRoot } from '../../../relay/src/api.js';
import { commandExists } from '../contenders/which.js';
import { asanRuntime } from '../sanitizers.js';

$.quiet = true;

/** What the scenarios and tests run, and the Debian package that brings it. */
const NEEDS: { command: string; pkg: string; for: string }[] = [
  { command: 'ip', pkg: 'iproute2', for: 'namespaces, veth, bridges' },
  { command: 'tc', pkg: 'iproute2', for: 'link faults' },
  { command: 'bridge', pkg: 'iproute2', for: 'the snooping segment' },
  { command: 'setpriv', pkg: 'util-linux', for: 'unprivileged workers' },
  { command: 'socat', pkg: 'socat', for: 'the socat contender' },
  { command: 'smcrouted', pkg: 'smcroute', for: 'the kernel-routing contender' },
  { command: 'tcpdump', pkg: 'tcpdump', for: 'IGMP and frame headers on the wire in tests' },
  { command: 'ethtool', pkg: 'ethtool', for: 'checksums computed in software in the egress tests' },
  { command: 'chromium', pkg: 'chromium', for: 'report and results-site browser tests' },
  { command: 'prometheus', pkg: 'prometheus', for: 'the metrics scrape test' },
  { command: 'promtool', pkg: 'prometheus', for: 'the metrics lint' },
  { command: 'clang++', pkg: 'clang', for: 'npm run fuzz, npm run test:sanitized' },
  { command: 'systemd-analyze', pkg: 'systemd', for: "the service unit's verification test" },
  { command: 'ssh', pkg: 'openssh-client', for: 'the hosts backend (npm run hosts)' },
  { command: 'sshd', pkg: 'openssh-server', for: "the hosts backend's test (two namespaces each running an OpenSSH server)" },
];
/** A file rather than a command: clang's sanitizer runtime. */
const ASAN_RUNTIME = { pkg: 'libclang-rt-14-dev', for: "clang's ASan runtime (npm run test:sanitized)" };

async function missingPackages(): Promise<{ pkg: string; why: string }[]> {
  const missing = new Map<string, string>();
  for (const need of NEEDS) if (!(await commandExists(need.command))) missing.set(need.pkg, `${need.command} (${need.for})`);
  if (!(await asanRuntime().then(() => true, () => false))) missing.set(ASAN_RUNTIME.pkg, ASAN_RUNTIME.for);
  return [...missing].map(([pkg, why]) => ({ pkg, why }));
}

interface Feature {
  name: string;
  ok: boolean;
  detail: string;
}

/** The kernel features, tried for real in a throwaway namespace (removed however it ends). */
async function kernelFeatures(): Promise<Feature[]> {
  const ns = `mcrsetup${process.pid}`;
  const features: Feature[] = [];
  const attempt = async (name: string, run: () => Promise<string>): Promise<boolean> => {
    try {
      features.push({ name, ok: true, detail: await run() });
      return true;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      features.push({ name, ok: false, detail: (e.stderr || e.message).trim().split('\n')[0] });
      return false;
    }
  };
  try {
    const created = await attempt('network namespaces', async () => {
      await $`ip netns add ${ns}`;
      return `ip netns add ${ns}`;
    });
    if (!created) return features;
    const veth = await attempt('veth pairs', async () => {
      await $`ip -n ${ns} link add mcrsa type veth peer name mcrsb`;
      await $`ip -n ${ns} link set mcrsa up`;
      await $`ip -n ${ns} link set mcrsb up`;
      return 'mcrsa <-> mcrsb';
    });
    await attempt('bridge with IGMP snooping', async () => {
      await $`ip -n ${ns} link add mcrsbr type bridge mcast_snooping 1 mcast_querier 1`;
      const snooping = (await $`ip netns exec ${ns} cat /sys/class/net/mcrsbr/bridge/multicast_snooping`).stdout.trim();
      if (snooping !== '1') throw new Error(`multicast_snooping reads ${snooping}`);
      return 'mcast_snooping 1, mcast_querier 1';
    });
    if (veth) {
      await attempt('AF_PACKET with PACKET_FANOUT', async () => {
        const probe = path.join(projectRoot, 'dist', 'harness', 'src', 'kernel-probe.js');
        const { fanoutId } = JSON.parse((await $`ip netns exec ${ns} ${process.execPath} ${probe} mcrsa`).stdout) as { fanoutId: number };
        return `two sockets in fanout group ${fanoutId} (hash, kernel-assigned id)`;
      });
    }
  } finally {
    await $`ip netns del ${ns}`.nothrow();
  }
  return features;
}

const program = new Command('setup')
  .description('Prepare this machine (Debian) for the scenarios and tests: install the packages they need with apt-get (only those missing), then check the kernel features (network namespaces, veth, bridge IGMP snooping, AF_PACKET with PACKET_FANOUT) and print what was found. Run as root: sudo npm run setup.')
  .option('--check', 'install nothing: only report what is missing')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .action(async (o: { check?: boolean }) => {
    if (process.getuid?.() !== 0) throw new Error('must run as root (apt-get, network namespaces): sudo npm run setup');
    let missing = await missingPackages();
    if (missing.length && !o.check) {
      if (!(await commandExists('apt-get'))) throw new Error(`apt-get not found; install by hand: ${missing.map((m) => m.pkg).join(' ')}`);
      const pkgs = [...new Set(missing.map((m) => m.pkg))];
      console.log(`setup: installing ${pkgs.join(' ')}…`);
      await within(async () => {
        $.env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
        await $`apt-get update -qq`;
        await $`apt-get install -y -qq ${pkgs}`;
      });
      missing = await missingPackages();
    }
    for (const need of NEEDS) console.log(`${missing.some((m) => m.pkg === need.pkg) ? 'MISSING' : 'ok     '} ${need.command.padEnd(11)} ${need.for}`);
    console.log(`${missing.some((m) => m.pkg === ASAN_RUNTIME.pkg) ? 'MISSING' : 'ok     '} ${'libclang_rt'.padEnd(11)} ${ASAN_RUNTIME.for}`);
    const features = await kernelFeatures();
    for (const f of features) console.log(`${f.ok ? 'ok     ' : 'MISSING'} ${f.name}: ${f.detail}`);
    const problems = [...missing.map((m) => `package ${m.pkg}: ${m.why}`), ...features.filter((f) => !f.ok).map((f) => `kernel: ${f.name} (${f.detail})`)];
    if (problems.length) {
      console.log(`setup: missing:\n  - ${problems.join('\n  - ')}`);
      process.exitCode = 1;
    } else console.log('setup: ready — sudo npm run scenario multi-stream -- 10; sudo npm test');
  });

program.parseAsync().catch((err: Error) => {
  console.error(`setup: ${err.message}`);
  process.exit(2);
});
