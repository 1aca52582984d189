// CPU seconds used by processes: nanoseconds on CPU per thread from /proc/<pid>/task/*/schedstat
// (precise enough for CPU per packet over short steps; /proc/<pid>/stat counts 10 ms ticks),
// falling back to /proc/<pid>/stat (utime + stime, and children reaped).
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function cpuSeconds(pid: number): number {
  try {
    const ns = readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
      try {
        return sum + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        return sum; // the thread just exited
      }
    }, 0);
    if (ns > 0) return ns / 1e9;
  } catch {
    // no schedstat (kernel without CONFIG_SCHED_INFO) or the process is gone: use stat
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = [fields[11], fields[12], fields[13], fields[14]].map(Number);
    return (utime + stime + cutime + cstime) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Children of pid (one level), e.g. the worker processes of mcrd. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** pid and all its descendants still alive (e.g. mcrd and its workers). */
export function treePids(pid: number): number[] {
  return [pid, ...childPids(pid).flatMap(treePids)];
}

/** CPU seconds of pid and all its descendants still alive. */
export function treeCpuSeconds(pid: number): number {
  return treePids(pid).reduce((sum, p) => sum + cpuSeconds(p), 0);
}
