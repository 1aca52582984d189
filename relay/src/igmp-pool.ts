// IGMP membership through a pool of helper sockets per interface. One socket holds at most
// net.ipv4.igmp_max_memberships groups, so a new socket opens when the others are full:
// 1000 groups work without touching sysctls.
import { readFileSync } from 'node:fs';
import type { Logger } from './log.js';

export interface IgmpOps {
  igmpOpenSocket(): number;
  igmpJoin(fd: number, ifname: string, group: string): void;
  igmpLeave(fd: number, ifname: string, group: string): void;
  igmpClose(fd: number): void;
}

export interface IgmpStats { attempted: number; succeeded: number; failed: number; activeGroups: number; sockets: number }

interface HelperSocket { fd: number; groups: Set<string> }

export function readMaxMemberships(file = '/proc/sys/net/ipv4/igmp_max_memberships'): number {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : 20;
  } catch {
    return 20;
  }
}

export class IgmpPool {
  private readonly sockets = new Map<string, HelperSocket[]>();
  private readonly counters = { attempted: 0, succeeded: 0, failed: 0 };

  constructor(private readonly ops: IgmpOps, private readonly log: Logger, private readonly perSocket = readMaxMemberships()) {}

  private owner(iface: string, group: string): HelperSocket | undefined {
    return this.sockets.get(iface)?.find((s) => s.groups.has(group));
  }

  isJoined(iface: string, group: string): boolean {
    return this.owner(iface, group) !== undefined;
  }

  private activeGroups(): number {
    let n = 0;
    for (const list of this.sockets.values()) for (const s of list) n += s.groups.size;
    return n;
  }

  /** Joins group on iface (no-op when already joined). Throws with the kernel's reason on failure. */
  join(iface: string, group: string): void {
    if (this.isJoined(iface, group)) return;
    this.counters.attempted++;
    const list = this.sockets.get(iface) ?? [];
    let helper = list.find((s) => s.groups.size < this.perSocket);
    let opened = false;
    try {
      if (!helper) {
        helper = { fd: this.ops.igmpOpenSocket(), groups: new Set() };
        opened = true;
      }
      this.ops.igmpJoin(helper.fd, iface, group);
    } catch (err) {
      this.counters.failed++;
      if (opened && helper) this.ops.igmpClose(helper.fd);
      const why = (err as Error).message;
      this.log.error(`Failed to join multicast group ${group} on ${iface}: ${why}`);
      throw new Error(`Failed to join multicast group ${group} on ${iface}: ${why}`);
    }
    if (opened) {
      list.push(helper);
      this.sockets.set(iface, list);
      this.log.info(`Created helper socket for interface ${iface}`, { fd: helper.fd, sockets: list.length });
    }
    helper.groups.add(group);
    this.counters.succeeded++;
    this.log.info(`IGMP join successful: ${group} on ${iface} (total groups: ${this.activeGroups()})`);
  }

  leave(iface: string, group: string): void {
    const helper = this.owner(iface, group);
    if (!helper) return;
    try {
      this.ops.igmpLeave(helper.fd, iface, group);
    } catch (err) {
      // The interface may be gone; the membership went with it.
      this.log.warn(`IGMP leave ${group} on ${iface} failed: ${(err as Error).message}`);
    }
    helper.groups.delete(group);
    this.log.info(`Left multicast group: ${group} on ${iface}`);
    if (helper.groups.size === 0) {
      this.ops.igmpClose(helper.fd);
      const rest = (this.sockets.get(iface) ?? []).filter((s) => s !== helper);
      if (rest.length) this.sockets.set(iface, rest);
      else this.sockets.delete(iface);
    }
  }

  leaveAll(): void {
    for (const [iface, list] of [...this.sockets]) for (const s of [...list]) for (const g of [...s.groups]) this.leave(iface, g);
  }

  stats(): IgmpStats {
    let sockets = 0;
    for (const list of this.sockets.values()) sockets += list.length;
    return { ...this.counters, activeGroups: this.activeGroups(), sockets };
  }

  logStats(): void {
    const s = this.stats();
    this.log.info(`[STATS:IGMP] attempted=${s.attempted} succeeded=${s.succeeded} failed=${s.failed} active_groups=${s.activeGroups}`);
  }
}
