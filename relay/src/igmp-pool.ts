// IGMP (and, for IPv6 groups, MLD) membership through a pool of helper sockets per interface.
// One socket holds at most net.ipv4.igmp_max_memberships groups, so a new socket opens when the
// others are full: 1000 groups work without touching sysctls. IPv6 groups go on IPv6 sockets,
// sized the same (the kernel has no per-socket MLD membership count; optmem_max bounds it far
// higher). A membership is any-source or source-specific (MCAST_JOIN_SOURCE_GROUP, IGMPv3/MLDv2
// INCLUDE); one socket cannot hold both kinds for one group, nor more than igmp_max_msf
// (IPv6: mld_max_msf) sources of one group.
//
// The supervisor declares which groups it wants on which interfaces (sync); the pool gets there:
// a failed join is retried with backoff (the group is 'joining', then 'failed', never silently
// absent), and a leave waits leaveDelayMs so a group removed and re-added in that time sends
// neither a leave nor a join.
import { readFileSync } from 'node:fs';
import type { Logger } from './log.js';
import { addressFamily } from './rules.js';

export interface IgmpOps {
  igmpOpenSocket(family?: 4 | 6): number;
  igmpJoin(fd: number, ifname: string, group: string): void;
  igmpLeave(fd: number, ifname: string, group: string): void;
  igmpJoinSource(fd: number, ifname: string, group: string, source: string): void;
  igmpLeaveSource(fd: number, ifname: string, group: string, source: string): void;
  igmpClose(fd: number): void;
}

/** A membership: "G" (any source) or "S>G" (source-specific). */
export function membershipKey(group: string, source?: string): string {
  return source ? `${source}>${group}` : group;
}

function parseKey(key: string): { group: string; source?: string } {
  const at = key.indexOf('>');
  return at < 0 ? { group: key } : { source: key.slice(0, at), group: key.slice(at + 1) };
}

const describe = (key: string) => {
  const { group, source } = parseKey(key);
  return source ? `${group} source ${source}` : group;
};

export interface IgmpPolicy {
  /** Join attempts after the first failure (0: no retry). */
  retries: number;
  /** Wait before the first retry; doubles for each further one. */
  retryIntervalMs: number;
  /** Keep a group joined this long after its last rule went (0: leave at once). */
  leaveDelayMs: number;
}

export const DEFAULT_IGMP_POLICY: IgmpPolicy = { retries: 5, retryIntervalMs: 1000, leaveDelayMs: 0 };

export interface IgmpStats {
  attempted: number;
  succeeded: number;
  failed: number;
  leaves: number;
  activeGroups: number;
  sockets: number;
  /** Wanted but not joined yet (a retry is scheduled). */
  joining: number;
  /** Wanted, retries exhausted. */
  failedGroups: number;
  /** Joined, no longer wanted, leave delayed. */
  leaving: number;
}

export type Membership = { state: 'joined' } | { state: 'joining' | 'failed'; error: string; attempts: number };

/** Interface name -> memberships (membershipKey) wanted there. */
export type WantedGroups = Map<string, Set<string>>;

/**
 * A helper socket: its memberships, and per group what it holds of it ('any' source, or how many
 * sources), so whether it can take one more is a lookup, not a scan of its memberships.
 */
interface HelperSocket { fd: number; family: 4 | 6; groups: Set<string>; held: Map<string, 'any' | number> }

const familyOf = (group: string): 4 | 6 => (addressFamily(group) === 6 ? 6 : 4);
interface Trouble { attempts: number; error: string; timer?: NodeJS.Timeout }

function readSysctl(file: string, fallback: number): number {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

const key = (iface: string, group: string) => `${iface}|${group}`;

export function readMaxMemberships(file = '/proc/sys/net/ipv4/igmp_max_memberships'): number {
  return readSysctl(file, 20);
}

/** Sources one socket may hold for one group (IPv4: igmp_max_msf, default 10; IPv6: mld_max_msf, 64). */
export function readMaxSources(family: 4 | 6 = 4): number {
  return family === 6 ? readSysctl('/proc/sys/net/ipv6/mld_max_msf', 64) : readSysctl('/proc/sys/net/ipv4/igmp_max_msf', 10);
}

export class IgmpPool {
  private readonly sockets = new Map<string, HelperSocket[]>();
  /** key(iface, membership) -> the helper holding it: finding a membership's socket is a lookup at 10,000 groups. */
  private readonly owners = new Map<string, HelperSocket>();
  private active = 0;
  private readonly counters = { attempted: 0, succeeded: 0, failed: 0, leaves: 0 };
  private wanted: WantedGroups = new Map();
  private readonly trouble = new Map<string, Trouble>();
  private readonly leaving = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly ops: IgmpOps,
    private readonly log: Logger,
    private readonly policy: IgmpPolicy = DEFAULT_IGMP_POLICY,
    private readonly perSocket = readMaxMemberships(),
    private readonly sourcesPerGroup = { 4: readMaxSources(4), 6: readMaxSources(6) },
  ) {}

  /** Whether the helper can take this membership: room for its group, no clash of kinds, room for its source. */
  private canHold(helper: HelperSocket, membership: string): boolean {
    const { group, source } = parseKey(membership);
    if (helper.family !== familyOf(group)) return false;
    const held = helper.held.get(group);
    if (held === undefined) return helper.held.size < this.perSocket;
    return source !== undefined && held !== 'any' && held < this.sourcesPerGroup[helper.family];
  }

  private hold(iface: string, helper: HelperSocket, membership: string): void {
    const { group, source } = parseKey(membership);
    const held = helper.held.get(group);
    helper.held.set(group, source === undefined ? 'any' : (typeof held === 'number' ? held : 0) + 1);
    helper.groups.add(membership);
    this.owners.set(key(iface, membership), helper);
    this.active++;
  }

  private release(iface: string, helper: HelperSocket, membership: string): void {
    const { group, source } = parseKey(membership);
    const held = helper.held.get(group);
    if (source === undefined || held === 'any' || held === undefined || held <= 1) helper.held.delete(group);
    else helper.held.set(group, held - 1);
    helper.groups.delete(membership);
    this.owners.delete(key(iface, membership));
    this.active--;
  }

  private owner(iface: string, membership: string): HelperSocket | undefined {
    return this.owners.get(key(iface, membership));
  }

  private isJoined(iface: string, group: string): boolean {
    return this.owner(iface, group) !== undefined;
  }

  private isWanted(iface: string, group: string): boolean {
    return this.wanted.get(iface)?.has(group) ?? false;
  }

  private activeGroups(): number {
    return this.active;
  }

  /** Makes the memberships follow `wanted`: joins what is missing, (delayed) leaves what is not wanted. */
  sync(wanted: WantedGroups): void {
    this.wanted = wanted;
    for (const [iface, list] of [...this.sockets]) {
      for (const s of [...list]) for (const group of [...s.groups]) if (!this.isWanted(iface, group)) this.scheduleLeave(iface, group);
    }
    for (const [k, t] of [...this.trouble]) {
      const [iface, group] = k.split('|');
      if (!this.isWanted(iface, group)) {
        clearTimeout(t.timer);
        this.trouble.delete(k);
      }
    }
    for (const [iface, groups] of wanted) {
      for (const group of groups) {
        const k = key(iface, group);
        const delayed = this.leaving.get(k);
        if (delayed) {
          clearTimeout(delayed);
          this.leaving.delete(k);
          this.log.debug(`IGMP leave of ${group} on ${iface} cancelled: wanted again within the leave delay`);
        }
        if (!this.isJoined(iface, group) && !this.trouble.has(k)) this.tryJoin(iface, group, 0);
      }
    }
  }

  /** How a wanted group stands; undefined when not wanted. */
  membership(iface: string, group: string): Membership | undefined {
    if (this.isJoined(iface, group)) return { state: 'joined' };
    const t = this.trouble.get(key(iface, group));
    if (t) return { state: t.timer ? 'joining' : 'failed', error: t.error, attempts: t.attempts };
    return undefined;
  }

  private tryJoin(iface: string, group: string, failures: number): void {
    const k = key(iface, group);
    try {
      this.join(iface, group);
      this.trouble.delete(k);
    } catch (err) {
      const error = (err as Error).message;
      const attempts = failures + 1;
      const retry = attempts <= this.policy.retries;
      const delay = this.policy.retryIntervalMs * 2 ** (attempts - 1);
      const trouble: Trouble = { attempts, error };
      if (retry) {
        trouble.timer = setTimeout(() => {
          trouble.timer = undefined;
          if (this.trouble.get(k) === trouble && this.isWanted(iface, group)) this.tryJoin(iface, group, attempts);
        }, delay).unref();
      }
      this.trouble.set(k, trouble);
      this.log.warn(retry ? `IGMP join ${describe(group)} on ${iface}: attempt ${attempts} failed; retrying in ${delay} ms` : `IGMP join ${describe(group)} on ${iface}: giving up after ${attempts} attempts (re-tried when the interface comes back or the rule is re-added)`);
    }
  }

  /** Joins group on iface (no-op when already joined). Throws with the kernel's reason on failure. */
  private join(iface: string, group: string): void {
    if (this.isJoined(iface, group)) return;
    this.counters.attempted++;
    const list = this.sockets.get(iface) ?? [];
    // The newest socket first: joins fill sockets in order, so it is the one with room but for the
    // first join after it filled (then the others are scanned, and one opens if none has room).
    const newest = list[list.length - 1];
    let helper = newest && this.canHold(newest, group) ? newest : list.find((s) => this.canHold(s, group));
    let opened = false;
    try {
      if (!helper) {
        const family = familyOf(parseKey(group).group);
        helper = { fd: this.ops.igmpOpenSocket(family), family, groups: new Set(), held: new Map() };
        opened = true;
      }
      const m = parseKey(group);
      if (m.source) this.ops.igmpJoinSource(helper.fd, iface, m.group, m.source);
      else this.ops.igmpJoin(helper.fd, iface, group);
    } catch (err) {
      this.counters.failed++;
      if (opened && helper) this.ops.igmpClose(helper.fd);
      const why = (err as Error).message;
      this.log.error(`Failed to join multicast group ${describe(group)} on ${iface}: ${why}`);
      throw new Error(`Failed to join multicast group ${describe(group)} on ${iface}: ${why}`);
    }
    if (opened) {
      list.push(helper);
      this.sockets.set(iface, list);
      this.log.info(`Created helper socket for interface ${iface}`, { fd: helper.fd, sockets: list.length });
    }
    this.hold(iface, helper, group);
    this.counters.succeeded++;
    this.log.info(`IGMP join successful: ${describe(group)} on ${iface} (total groups: ${this.activeGroups()})`);
  }

  private scheduleLeave(iface: string, group: string): void {
    const k = key(iface, group);
    if (this.leaving.has(k)) return;
    if (this.policy.leaveDelayMs <= 0) {
      this.leave(iface, group);
      return;
    }
    this.leaving.set(
      k,
      setTimeout(() => {
        this.leaving.delete(k);
        if (!this.isWanted(iface, group)) this.leave(iface, group);
      }, this.policy.leaveDelayMs).unref(),
    );
  }

  private leave(iface: string, group: string): void {
    const helper = this.owner(iface, group);
    if (!helper) return;
    try {
      const m = parseKey(group);
      if (m.source) this.ops.igmpLeaveSource(helper.fd, iface, m.group, m.source);
      else this.ops.igmpLeave(helper.fd, iface, group);
    } catch (err) {
      // The interface may be gone; the membership went with it.
      this.log.warn(`IGMP leave ${describe(group)} on ${iface} failed: ${(err as Error).message}`);
    }
    this.counters.leaves++;
    this.release(iface, helper, group);
    this.log.info(`Left multicast group: ${describe(group)} on ${iface}`);
    if (helper.groups.size === 0) this.closeHelper(iface, helper);
  }

  private closeHelper(iface: string, helper: HelperSocket): void {
    for (const m of [...helper.groups]) this.release(iface, helper, m);
    this.ops.igmpClose(helper.fd);
    const rest = (this.sockets.get(iface) ?? []).filter((s) => s !== helper);
    if (rest.length) this.sockets.set(iface, rest);
    else this.sockets.delete(iface);
  }

  /**
   * The interface is gone: the kernel dropped its memberships with it. Closes its helper sockets
   * without leaving, so the next sync joins afresh on the interface that comes back.
   */
  forgetInterface(iface: string): void {
    for (const helper of [...(this.sockets.get(iface) ?? [])]) this.closeHelper(iface, helper);
    for (const [k, timer] of [...this.leaving]) {
      if (k.startsWith(`${iface}|`)) {
        clearTimeout(timer);
        this.leaving.delete(k);
      }
    }
    for (const [k, t] of [...this.trouble]) {
      if (k.startsWith(`${iface}|`)) {
        clearTimeout(t.timer);
        this.trouble.delete(k);
      }
    }
  }

  /** Leaves every group now (shutdown): no delay, no retry. */
  leaveAll(): void {
    this.wanted = new Map();
    for (const timer of this.leaving.values()) clearTimeout(timer);
    this.leaving.clear();
    for (const t of this.trouble.values()) clearTimeout(t.timer);
    this.trouble.clear();
    for (const [iface, list] of [...this.sockets]) for (const s of [...list]) for (const g of [...s.groups]) this.leave(iface, g);
  }

  stats(): IgmpStats {
    let sockets = 0;
    for (const list of this.sockets.values()) sockets += list.length;
    let joining = 0;
    for (const t of this.trouble.values()) if (t.timer) joining++;
    return { ...this.counters, activeGroups: this.activeGroups(), sockets, joining, failedGroups: this.trouble.size - joining, leaving: this.leaving.size };
  }

  logStats(): void {
    const s = this.stats();
    this.log.info(`[STATS:IGMP] attempted=${s.attempted} succeeded=${s.succeeded} failed=${s.failed} active_groups=${s.activeGroups} leaves=${s.leaves} joining=${s.joining} leaving=${s.leaving}`);
  }
}
