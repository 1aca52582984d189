// Cores that belong to the work (--cpus): the contender's processes (mcrd and its workers, socat,
// smcrouted), the generator and the sink each on named cores, so that on a machine with cores to
// spare the instrument no longer competes with the contender. Applied with taskset at exec (the
// processes and everything they fork inherit it) and read back from /proc for the record.
import { readFileSync } from 'node:fs';
import { treePids } from './contenders/cpu.js';

export const PLACED_ROLES = ['contender', 'generator', 'sink'] as const;
export type PlacedRole = (typeof PLACED_ROLES)[number];
/** Per role, a CPU list as taskset and /proc write it ("1", "0,2", "2-3"). */
export type CpuPlacement = Partial<Record<PlacedRole, string>>;

/** The CPUs this process may use (/proc/self/status Cpus_allowed_list), expanded. */
export function allowedCpus(pid: number | 'self' = 'self'): number[] {
  return expandCpuList(cpusAllowedList(pid) ?? '');
}

/** A process's Cpus_allowed_list, or undefined once it is gone. */
export function cpusAllowedList(pid: number | 'self'): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** "0,2-3" -> [0, 2, 3]; throws on anything else. */
export function expandCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad CPU list "${list}": expected numbers and ranges like 0,2-3`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) throw new Error(`bad CPU range "${part}" in "${list}": it runs backwards`);
    for (let c = from; c <= to; c++) cpus.push(c);
  }
  return cpus;
}

/**
 * "contender=1,generator=0,sink=0" or "contender=2-3,5,generator=0": a role's list runs until the
 * next role. Every CPU must be one this process may use (a core the harness cannot use itself is
 * one its children cannot be pinned to).
 */
export function parseCpuPlacement(text: string, usable: number[] = allowedCpus()): CpuPlacement {
  const placement: CpuPlacement = {};
  let role: PlacedRole | undefined;
  const lists: Partial<Record<PlacedRole, string[]>> = {};
  for (const item of text.split(',').map((s) => s.trim())) {
    const m = /^([a-z]+)=(.*)$/.exec(item);
    if (m) {
      if (!(PLACED_ROLES as readonly string[]).includes(m[1])) throw new Error(`--cpus: unknown role '${m[1]}' (roles: ${PLACED_ROLES.join(', ')})`);
      role = m[1] as PlacedRole;
      if (lists[role]) throw new Error(`--cpus: '${role}' given twice`);
      lists[role] = [m[2]];
    } else if (role && item) lists[role]!.push(item);
    else throw new Error(`--cpus: "${item}" names no role: expected e.g. contender=1,generator=0,sink=0`);
  }
  for (const r of PLACED_ROLES) {
    if (!lists[r]) continue;
    const list = lists[r]!.join(',');
    const cpus = expandCpuList(list);
    const unusable = cpus.filter((c) => !usable.includes(c));
    if (unusable.length) throw new Error(`--cpus: ${r}=${list} names CPU ${unusable.join(', ')}, which this process cannot use (usable: ${usable.join(',')})`);
    placement[r] = list;
  }
  if (!Object.keys(placement).length) throw new Error('--cpus: no role placed: expected e.g. contender=1,generator=0,sink=0');
  return placement;
}

/** cmd and args run on `cpus` (taskset execs it: the pid stays the process's own); unchanged without. */
export function pinned(cpus: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpus ? ['taskset', ['--cpu-list', cpus, cmd, ...args]] : [cmd, args];
}

/** The distinct CPU lists these processes may run on, as /proc shows them (the record of a placement). */
export function cpuListsOf(pids: number[]): string[] {
  return [...new Set(pids.flatMap((p) => cpusAllowedList(p) ?? []))];
}

export const treeCpuLists = (pid: number) => cpuListsOf(treePids(pid));

/** The command line a user would type to start cmd in ns on `cpus`. */
export function commandLine(ns: string, cpus: string | undefined, cmd: string, args: string[]): string {
  return ['ip', 'netns', 'exec', ns, ...pinned(cpus, cmd, args).flat()].join(' ');
}
