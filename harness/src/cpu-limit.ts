// CPU throttling of a process tree through a cgroup (CFS bandwidth control), so a run can show that a
// gate fails when the relay is CPU-starved (--relay-cpu-limit 25%). cgroup v2 (cpu.max) or v1 (cpu.cfs_*).
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** CFS period; the quota is fraction * period per period. */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms, i.e. 1% of the period. */
const MIN_QUOTA_US = 1000;

export interface CpuLimit {
  /** The child cgroup directory. */
  readonly path: string;
  readonly version: 1 | 2;
  /** CPUs allowed (0.25 = a quarter of one CPU, 1.5 = one and a half). */
  readonly fraction: number;
  /** Moves one process (all its threads) into the cgroup; throws if it cannot. */
  add(pid: number): void;
  /** Moves pid and its current descendants; later forks inherit the cgroup by themselves. */
  addTree(pid: number): void;
  /** Total time the cgroup spent throttled so far (last reading once destroyed). */
  throttledSeconds(): number;
  /** Moves remaining processes to the parent cgroup and removes this one. Idempotent, never throws. */
  destroy(): Promise<void>;
}

export interface CpuCgroup {
  version: 1 | 2;
  /** Where child cgroups are created: the hierarchy's mount point. */
  root: string;
}

function checkFraction(fraction: number, what: string, cpus: number): number {
  if (!Number.isFinite(fraction) || fraction <= 0) throw new Error(`CPU limit ${what} must be above 0%`);
  if (fraction * CPU_PERIOD_US < MIN_QUOTA_US) throw new Error(`CPU limit ${what} is below 1% (the kernel's minimum CFS quota)`);
  if (fraction > cpus) throw new Error(`CPU limit ${what} exceeds the ${cpus} CPU(s) of this machine (at most ${cpus * 100}%)`);
  return fraction;
}

/** "25%" or "0.25" -> 0.25; "150%" or "1.5" -> one and a half CPUs. Throws on anything else. */
export function parseCpuLimit(text: string, cpus: number = os.availableParallelism()): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*$/.exec(text);
  if (!m) throw new Error(`bad CPU limit "${text}": expected a percentage like "25%" or a fraction of one CPU like "0.25"`);
  const value = Number(m[1]) / (m[2] ? 100 : 1);
  return checkFraction(value, `"${text}"`, cpus);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Finds a hierarchy with the cpu controller: v2 if it offers cpu, else a v1 hierarchy with 'cpu'. */
export function findCpuCgroup(): CpuCgroup {
  let mounts: string[][];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' '));
  } catch (err) {
    throw new Error(`cannot read /proc/self/mounts to find a cgroup cpu controller: ${(err as Error).message}`);
  }
  const v2 = mounts.filter((m) => m[2] === 'cgroup2').map((m) => m[1]!);
  for (const root of v2) {
    try {
      if (readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).includes('cpu')) return { version: 2, root };
    } catch {
      // unreadable: try the next candidate
    }
  }
  const v1 = mounts.find((m) => m[2] === 'cgroup' && (m[3] ?? '').split(',').includes('cpu'));
  if (v1) return { version: 1, root: v1[1]! };
  const seen = v2.length ? `cgroup v2 is mounted at ${v2.join(', ')} but its cgroup.controllers lacks 'cpu'` : 'no cgroup v2 is mounted';
  throw new Error(`no usable cgroup cpu controller: no cgroup v1 hierarchy with 'cpu' is mounted and ${seen}`);
}

// Without CONFIG_PROC_CHILDREN there is no children file: fall back to scanning /proc for the parent pid.
const hasChildrenFile = (() => {
  try {
    readFileSync(`/proc/self/task/${process.pid}/children`);
    return true;
  } catch {
    return false;
  }
})();

/** Direct children of pid, over all its threads (each thread has its own children list). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  if (!hasChildrenFile) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // gone
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // thread exited meanwhile
    }
  }
  return out;
}

function readStat(file: string): Map<string, number> {
  const stat = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value !== undefined) stat.set(key, Number(value));
  }
  return stat;
}

/** On v2 a child only gets cpu.max if the parent delegates the controller. */
function delegateCpuController(root: string): void {
  // Left enabled afterwards: other cgroups may rely on it and enabling it is harmless.
  const control = path.join(root, 'cgroup.subtree_control');
  try {
    if (!readFileSync(control, 'utf8').split(/\s+/).includes('cpu')) writeFileSync(control, '+cpu');
  } catch (err) {
    // EBUSY: processes live directly in that (non-root) cgroup, so v2 will not delegate controllers from it.
    const hint = errno(err) === 'EBUSY' ? ' (processes live directly in that cgroup, e.g. inside a container)' : '';
    throw new Error(`cannot enable the cpu controller in ${control}: ${(err as Error).message}${hint}`);
  }
}

function makeCgroup(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    if (errno(err) === 'EEXIST') throw new Error(`cgroup ${dir} already exists (a name in use, or a dead run's leftover: rmdir it)`);
    throw new Error(`cannot create cgroup ${dir}: ${(err as Error).message}${process.getuid?.() !== 0 ? ' (needs root)' : ''}`);
  }
}

class CgroupCpuLimit implements CpuLimit {
  private readonly procs: string;
  private lastThrottled = 0;
  private destroying: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly version: 1 | 2,
    readonly fraction: number,
    private readonly root: string,
  ) {
    this.procs = path + '/cgroup.procs';
  }

  setQuota(quotaUs: number): void {
    try {
      if (this.version === 2) {
        writeFileSync(`${this.path}/cpu.max`, `${quotaUs} ${CPU_PERIOD_US}`);
      } else {
        writeFileSync(`${this.path}/cpu.cfs_period_us`, String(CPU_PERIOD_US));
        writeFileSync(`${this.path}/cpu.cfs_quota_us`, String(quotaUs));
      }
    } catch (err) {
      throw new Error(`cannot set the CPU quota of ${this.path} to ${quotaUs}/${CPU_PERIOD_US} us: ${(err as Error).message}`);
    }
  }

  add(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad pid ${pid}`);
    try {
      writeFileSync(this.procs, String(pid)); // moves the whole thread group
    } catch (err) {
      throw new Error(`cannot move pid ${pid} into ${this.path}: ${(err as Error).message}`);
    }
  }

  addTree(pid: number): void {
    this.add(pid);
    // Parent first, then its children: anything it forks after the move is born inside, and
    // anything forked before is in the list read after the move. Exits meanwhile are fine.
    const seen = new Set([pid]);
    const pending = childrenOf(pid);
    for (let child = pending.pop(); child !== undefined; child = pending.pop()) {
      if (seen.has(child)) continue;
      seen.add(child);
      try {
        writeFileSync(this.procs, String(child));
      } catch (err) {
        if (errno(err) !== 'ESRCH') throw new Error(`cannot move pid ${child} (descendant of ${pid}) into ${this.path}: ${(err as Error).message}`);
        continue;
      }
      pending.push(...childrenOf(child));
    }
  }

  throttledSeconds(): number {
    if (this.destroying) return this.lastThrottled;
    const stat = readStat(`${this.path}/cpu.stat`);
    this.lastThrottled = this.version === 2 ? (stat.get('throttled_usec') ?? 0) / 1e6 : (stat.get('throttled_time') ?? 0) / 1e9;
    return this.lastThrottled;
  }

  destroy(): Promise<void> {
    if (!this.destroying) {
      try {
        this.throttledSeconds();
      } catch {
        // keep the last reading
      }
      this.destroying = this.removeCgroup();
    }
    return this.destroying;
  }

  /** rmdir fails with EBUSY while a process is inside; one may fork during the moves, so it retries. */
  private async removeCgroup(): Promise<void> {
    const parentProcs = `${this.root}/cgroup.procs`;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        for (const pid of readFileSync(this.procs, 'utf8').split('\n')) {
          if (!pid) continue;
          try {
            writeFileSync(parentProcs, pid);
          } catch {
            // exited meanwhile
          }
        }
        rmdirSync(this.path);
        return;
      } catch (err) {
        if (errno(err) === 'ENOENT') return;
      }
      await sleep(50);
    }
    process.stderr.write(`cpu-limit: could not remove cgroup ${this.path} (processes still inside?)\n`);
  }
}

/**
 * Creates child cgroup `name` under the cpu hierarchy's root, limited to `fraction` CPUs.
 * The name must be unique per run (an existing cgroup is refused, not reused).
 */
export async function createCpuLimit(name: string, fraction: number): Promise<CpuLimit> {
  if (!name || name.includes('/') || name.includes('..') || name.startsWith('.')) {
    throw new Error(`bad cgroup name "${name}": must be a single path component without '/' or '..'`);
  }
  checkFraction(fraction, String(fraction), os.availableParallelism());
  const { version, root } = findCpuCgroup();
  if (version === 2) delegateCpuController(root);
  const dir = path.join(root, name);
  makeCgroup(dir);
  const limit = new CgroupCpuLimit(dir, version, fraction, root);
  try {
    limit.setQuota(Math.round(fraction * CPU_PERIOD_US));
  } catch (err) {
    await limit.destroy();
    throw err;
  }
  return limit;
}
