// Counters the kernel keeps inside a namespace, read through `ip netns exec`.
import { $ } from 'zx';

/** /proc/net/udp rows of the sockets bound to port: their 'drops' column counts receive-queue overflows. */
async function udpSockets(ns: string, port: number): Promise<{ drops: number }[]> {
  const { stdout } = await $`ip netns exec ${ns} cat /proc/net/udp`;
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 13 && cols[1].endsWith(`:${portHex}`))
    .map((cols) => ({ drops: Number(cols[cols.length - 1]) || 0 }));
}

export async function udpSocketCount(ns: string, port: number): Promise<number> {
  return (await udpSockets(ns, port)).length;
}

export async function udpSocketDrops(ns: string, port: number): Promise<number> {
  return (await udpSockets(ns, port)).reduce((sum, s) => sum + s.drops, 0);
}

export interface MfcEntry { group: string; origin: string; packets: number; bytes: number; wrongIf: number }

function hexToIp(hex: string): string {
  // /proc/net/ip_mr_cache prints addresses as the raw big-endian u32 in host (little-endian) order.
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

/** The kernel's multicast forwarding cache (resolved routes with their packet counters). */
export async function multicastRoutes(ns: string): Promise<MfcEntry[]> {
  const { stdout } = await $`ip netns exec ${ns} cat /proc/net/ip_mr_cache`;
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 6)
    .map((cols) => ({ group: hexToIp(cols[0]), origin: hexToIp(cols[1]), packets: Number(cols[3]), bytes: Number(cols[4]), wrongIf: Number(cols[5]) }));
}
