// What a reader needs to judge a result: machine, kernel, tool versions, namespace sysctls, commit.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { projectRoot, VERSION } from '../../relay/src/api.js';
import { $ } from 'zx';
import { createPair } from '../../netns/topology.js';

export interface Environment {
  hostname: string;
  kernel: string;
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  node: string;
  mcr: string;
  git: { commit: string | null; dirty: boolean | null };
  tools: Record<string, string | null>;
  sysctls: Record<string, string | null>;
}

function output(cmd: string, args: string[], cwd = projectRoot): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 5000 }, (err, stdout, stderr) => resolve(err ? null : `${stdout}${stderr}`.trim()));
  });
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

const SYSCTLS = [
  'net.ipv4.igmp_max_memberships',
  'net.core.rmem_max',
  'net.core.rmem_default',
  'net.core.wmem_max',
];

/** Sysctls as seen inside a namespace (most net.* values are per namespace). */
export async function namespaceSysctls(ns: string): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const key of SYSCTLS) {
    try {
      out[key] = (await $`ip netns exec ${ns} sysctl -n ${key}`).stdout.trim();
    } catch {
      out[key] = null;
    }
  }
  return out;
}

/** Sysctls of a fresh namespace like the ones a run uses (created and removed for the reading). */
async function freshNamespaceSysctls(): Promise<Record<string, string | null>> {
  const pair = await createPair();
  try {
    return await namespaceSysctls(pair.sink.ns);
  } finally {
    await pair.destroy();
  }
}

export async function collectEnvironment(relayNs?: string): Promise<Environment> {
  const firstLine = (s: string | null) => s?.split('\n')[0] ?? null;
  const [commit, status, socat, smcroute, ip] = await Promise.all([
    output('git', ['rev-parse', 'HEAD']),
    output('git', ['status', '--porcelain', '--untracked-files=no']),
    output('socat', ['-V']),
    output('smcrouted', ['-v']),
    output('ip', ['-V']),
  ]);
  return {
    hostname: os.hostname(),
    kernel: `${os.type()} ${os.release()} ${os.machine()}`,
    cpuModel: cpuModel(),
    cpuCount: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    mcr: VERSION,
    git: { commit, dirty: status === null ? null : status.length > 0 },
    tools: {
      socat: socat?.split('\n').find((l) => l.startsWith('socat version'))?.replace(/ on .*/, '') ?? null,
      smcroute: firstLine(smcroute),
      iproute2: firstLine(ip),
    },
    sysctls: relayNs ? await namespaceSysctls(relayNs) : await freshNamespaceSysctls().catch(() => ({})),
  };
}
