// The hosts a run may use instead of namespaces (--hosts FILE.json5): a tester that sends and
// counts (mcr-gen, mcr-sink: one TX port, one RX port) and a DUT that runs the contenders (an input
// and an output interface), each reached over OpenSSH, and what lies between them.
import { readFileSync } from 'node:fs';
import JSON5 from 'json5';

export interface HostEntry {
  /** OpenSSH destination, user@host. */
  ssh: string;
  port: number;
  /** Private key file (absent: ssh's own defaults and agent). */
  key?: string;
  /** known_hosts file to use (absent: ssh's own); new host keys are accepted once, never replaced. */
  knownHosts?: string;
  /** The project's checkout on that host, built (npm install). */
  dir: string;
}

export interface Tester extends HostEntry {
  tx: string;
  rx: string;
}

export interface Dut extends HostEntry {
  input: string;
  output: string;
}

export const BETWEEN = ['cable', 'snooping-switch'] as const;

export interface Inventory {
  tester: Tester;
  dut: Dut;
  /** Direct cables, or a switch that snoops IGMP/MLD. */
  between: (typeof BETWEEN)[number];
}

const IFNAME = /^[^\s/]{1,15}$/;

function text(where: string, value: unknown, pattern?: RegExp): string {
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) throw new Error(`${where} must be ${pattern === IFNAME ? 'an interface name' : 'a non-empty string'} (got ${JSON.stringify(value)})`);
  return value;
}

function host(where: string, raw: Record<string, unknown>): HostEntry {
  const ssh = text(`${where}.ssh`, raw.ssh);
  if (!/^[^@\s]+@[^@\s]+$/.test(ssh)) throw new Error(`${where}.ssh must be user@host (got "${ssh}")`);
  const port = raw.port ?? 22;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) throw new Error(`${where}.port must be a TCP port (got ${JSON.stringify(raw.port)})`);
  return {
    ssh,
    port: port as number,
    ...(raw.key === undefined ? {} : { key: text(`${where}.key`, raw.key) }),
    ...(raw.knownHosts === undefined ? {} : { knownHosts: text(`${where}.knownHosts`, raw.knownHosts) }),
    dir: text(`${where}.dir`, raw.dir),
  };
}

/** Reads and checks an inventory; every error names the file and the field. */
export function loadInventory(file: string): Inventory {
  let raw: Record<string, Record<string, unknown> | undefined>;
  try {
    raw = JSON5.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`hosts file ${file}: ${(err as Error).message}`);
  }
  try {
    const t = raw.tester;
    const d = raw.dut;
    if (typeof t !== 'object' || t === null) throw new Error("'tester' is missing");
    if (typeof d !== 'object' || d === null) throw new Error("'dut' is missing");
    const between = raw.between ?? 'cable';
    if (!(BETWEEN as readonly unknown[]).includes(between)) throw new Error(`'between' must be one of ${BETWEEN.join(', ')} (got ${JSON.stringify(between)})`);
    return {
      tester: { ...host('tester', t), tx: text('tester.tx', t.tx, IFNAME), rx: text('tester.rx', t.rx, IFNAME) },
      dut: { ...host('dut', d), input: text('dut.input', d.input, IFNAME), output: text('dut.output', d.output, IFNAME) },
      between: between as Inventory['between'],
    };
  } catch (err) {
    throw new Error(`hosts file ${file}: ${(err as Error).message}`);
  }
}
