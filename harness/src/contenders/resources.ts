// Memory and file descriptors of a process tree (mcrd and its workers), read from /proc, for the
// soak scenario's leak checks.
import { readdirSync, readFileSync } from 'node:fs';
import { treePids } from './cpu.js';

export interface Resources {
  /** Resident set size of every process of the tree, bytes. */
  rssBytes: number;
  /** Open file descriptors of every process of the tree. */
  fds: number;
  processes: number;
}

function one(pid: number): Resources {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
    return { rssBytes: kib * 1024, fds: readdirSync(`/proc/${pid}/fd`).length, processes: 1 };
  } catch {
    return { rssBytes: 0, fds: 0, processes: 0 }; // exited meanwhile
  }
}

export function treeResources(pid: number): Resources {
  return treePids(pid)
    .map(one)
    .reduce((sum, r) => ({ rssBytes: sum.rssBytes + r.rssBytes, fds: sum.fds + r.fds, processes: sum.processes + r.processes }));
}
