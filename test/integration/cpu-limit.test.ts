// CPU limit through a cgroup: a process tree (including a child forked after the move) is held near its
// quota and the cgroup reports throttling; destroy() hands the processes back and removes the cgroup.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuLimit, findCpuCgroup, type CpuLimit } from '../../harness/src/cpu-limit.js';
import { announceSkip } from './env.js';
import { until } from './until.js';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (creating cgroups needs root)';
  try {
    findCpuCgroup();
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
const reason = skipReason();
announceSkip('cpu-limit integration', reason);

const BUSY = `${JSON.stringify(process.execPath)} -e "for(;;){}"`;
const TICKS = 100; // USER_HZ

/** utime + stime of pid in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The cgroup path of pid in the hierarchy of `version` ("/" = root). */
function cgroupOf(pid: number, version: 1 | 2): string | undefined {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [id, controllers, p] = line.split(':');
    if (version === 2 ? id === '0' && controllers === '' : (controllers ?? '').split(',').includes('cpu')) return p;
  }
  return undefined;
}

function kill(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

describe.skipIf(reason)('cpu-limit on this machine', () => {
  const shells: ChildProcess[] = [];
  const limits: CpuLimit[] = [];
  const name = (tag: string) => `mcr-test-${process.pid}-${tag}`;

  afterAll(async () => {
    for (const sh of shells) {
      if (sh.pid === undefined) continue;
      kill(sh.pid, 'SIGSTOP'); // no more forks while its children are collected
      for (const child of childrenOf(sh.pid)) kill(child);
      kill(sh.pid);
    }
    for (const limit of limits) await limit.destroy();
  });

  it('holds a process tree, including a later fork, to 10% and reports throttling; destroy hands it back', async () => {
    // One busy loop now; a second one forked once a line arrives on stdin (after the tree was moved).
    const sh = spawn('sh', ['-c', `${BUSY} & read x; ${BUSY} & wait`], { stdio: ['pipe', 'ignore', 'inherit'] });
    shells.push(sh);
    const shPid = sh.pid!;
    await until('the first busy loop', () => childrenOf(shPid).length === 1, 5000);
    const [first] = childrenOf(shPid) as [number];

    const limit = await createCpuLimit(name('tree'), 0.1);
    limits.push(limit);
    expect(limit.fraction).toBe(0.1);
    const { version, root } = findCpuCgroup();
    expect(limit.version).toBe(version);
    expect(limit.path).toBe(path.join(root, name('tree')));
    if (version === 1) {
      expect(readFileSync(path.join(limit.path, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('10000');
      expect(readFileSync(path.join(limit.path, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
    } else {
      expect(readFileSync(path.join(limit.path, 'cpu.max'), 'utf8').trim()).toBe('10000 100000');
    }

    limit.addTree(shPid);
    sh.stdin!.write('go\n');
    await until('the second busy loop', () => childrenOf(shPid).length === 2, 5000);
    const second = childrenOf(shPid).find((p) => p !== first)!;
    const inside = `/${name('tree')}`;
    for (const pid of [shPid, first, second]) expect(cgroupOf(pid, version), `pid ${pid}`).toBe(inside);
    expect(readFileSync(path.join(limit.path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number).sort()).toEqual(
      [shPid, first, second].sort(),
    );

    await sleep(200); // past node's startup
    const cpu0 = cpuSeconds(first) + cpuSeconds(second);
    const t0 = performance.now();
    await sleep(1500);
    const cpu = cpuSeconds(first) + cpuSeconds(second) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    // Unthrottled, the two loops would take ~2 CPU-seconds per second on this 2-CPU machine; limited, ~0.1.
    // The bound is generous so a noisy machine cannot make it flaky.
    expect(cpu / wall, `${cpu.toFixed(2)} CPU-s in ${wall.toFixed(2)} s`).toBeLessThan(0.5);
    const throttled = limit.throttledSeconds();
    expect(throttled).toBeGreaterThan(0);

    await limit.destroy();
    expect(existsSync(limit.path)).toBe(false);
    for (const pid of [shPid, first, second]) expect(cgroupOf(pid, version), `pid ${pid}`).toBe('/');
    await limit.destroy(); // idempotent
    expect(limit.throttledSeconds()).toBeGreaterThanOrEqual(throttled); // last reading survives
    expect(() => limit.add(shPid)).toThrow(/cannot move pid/);
  });

  it('refuses a name already in use, and a pid that does not exist', async () => {
    const limit = await createCpuLimit(name('dup'), 0.5);
    limits.push(limit);
    await expect(createCpuLimit(name('dup'), 0.5)).rejects.toThrow(/already exists/);
    expect(() => limit.add(2 ** 30)).toThrow(new RegExp(`cannot move pid ${2 ** 30} into ${limit.path}`));
    expect(() => limit.add(-1)).toThrow(/bad pid/);
    expect(limit.throttledSeconds()).toBe(0);
    await Promise.all([limit.destroy(), limit.destroy()]);
    expect(existsSync(limit.path)).toBe(false);
  });

  it.skipIf(os.availableParallelism() < 2)('accepts more than one CPU', async () => {
    const limit = await createCpuLimit(name('multi'), 1.5);
    limits.push(limit);
    if (limit.version === 1) expect(readFileSync(path.join(limit.path, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('150000');
    else expect(readFileSync(path.join(limit.path, 'cpu.max'), 'utf8').trim()).toBe('150000 100000');
    await limit.destroy();
    expect(existsSync(limit.path)).toBe(false);
  });
});
