// Counters the kernel keeps inside a namespace, read through `ip netns exec`.
import { $ } from 'zx';
import type { Family } from '../streams.js';

/** /proc/net/udp (udp6) rows of the sockets bound to port: their 'drops' column counts receive-queue overflows. */
async function udpSockets(ns: string, port: number, family: Family): Promise<{ drops: number }[]> {
  const { stdout } = await $`ip netns exec ${ns} cat ${family === 6 ? '/proc/net/udp6' : '/proc/net/udp'}`;
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 13 && cols[1].endsWith(`:${portHex}`))
    .map((cols) => ({ drops: Number(cols[cols.length - 1]) || 0 }));
}

export async function udpSocketCount(ns: string, port: number, family: Family = 4): Promise<number> {
  return (await udpSockets(ns, port, family)).length;
}

export async function udpSocketDrops(ns: string, port: number, family: Family = 4): Promise<number> {
  return (await udpSockets(ns, port, family)).reduce((sum, s) => sum + s.drops, 0);
}

/** A UDP counter of a namespace so far: /proc/net/snmp's Udp line (IPv4), /proc/net/snmp6's Udp6 one. */
async function udpCounter(ns: string, name: string, family: Family): Promise<number> {
  if (family === 6) {
    const line = (await $`ip netns exec ${ns} cat /proc/net/snmp6`).stdout.split('\n').find((l) => l.startsWith(`Udp6${name} `));
    return Number(line?.trim().split(/\s+/)[1]);
  }
  const lines = (await $`ip netns exec ${ns} cat /proc/net/snmp`).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = lines.map((l) => l.trim().split(/\s+/));
  return Number(values[names.indexOf(name)]);
}

/** UDP datagrams the kernel handed to sockets in a namespace so far (Udp InDatagrams). */
export function udpInDatagrams(ns: string, family: Family = 4): Promise<number> {
  return udpCounter(ns, 'InDatagrams', family);
}

/** UDP datagrams a namespace dropped for a bad checksum so far (InCsumErrors). */
export function udpChecksumErrors(ns: string, family: Family = 4): Promise<number> {
  return udpCounter(ns, 'InCsumErrors', family);
}

/** The ifindex of an interface inside a namespace. */
export async function interfaceIndex(ns: string, ifname: string): Promise<number> {
  const { stdout } = await $`ip -n ${ns} -j link show ${ifname}`;
  return (JSON.parse(stdout) as { ifindex: number }[])[0].ifindex;
}

export interface MfcEntry { group: string; origin: string; packets: number; bytes: number; wrongIf: number }

function hexToIp(hex: string): string {
  // /proc/net/ip_mr_cache prints addresses as the raw big-endian u32 in host (little-endian) order.
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

/** /proc/net/ip6_mr_cache prints full IPv6 addresses (ff15:0000:...:0001); the URL parser compresses them (ff15::1). */
function compactIpv6(full: string): string {
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

/** The kernel's multicast forwarding cache file: present only in a kernel built with multicast routing. */
export const MFC_FILE: Record<Family, { path: string; option: string }> = {
  4: { path: '/proc/net/ip_mr_cache', option: 'CONFIG_IP_MROUTE' },
  6: { path: '/proc/net/ip6_mr_cache', option: 'CONFIG_IPV6_MROUTE' },
};

/** The kernel's multicast forwarding cache (resolved routes with their packet counters). */
export async function multicastRoutes(ns: string, family: Family = 4): Promise<MfcEntry[]> {
  const { stdout } = await $`ip netns exec ${ns} cat ${MFC_FILE[family].path}`;
  const address = family === 6 ? compactIpv6 : hexToIp;
  // Both: group origin iif packets bytes wrong oifs... (unresolved entries have fewer columns).
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 6)
    .map((cols) => ({ group: address(cols[0]), origin: address(cols[1]), packets: Number(cols[3]), bytes: Number(cols[4]), wrongIf: Number(cols[5]) }));
}
