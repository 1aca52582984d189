// Ownership records of live topologies: a run writes one file per prefix with its pid, so a
// later run can sweep what a dead run left behind without ever touching a live run's namespaces.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const STATE_DIR = process.env.MCR_NETNS_STATE_DIR ?? '/run/mcr-netns';

export interface OwnerRecord {
  prefix: string;
  pid: number;
  /** The owner's start time (/proc/<pid>/stat field 22), so a reused pid is not taken for the owner. */
  startTime?: number;
  namespaces: string[];
  created: string;
}

export function recordOwner(record: OwnerRecord): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(path.join(STATE_DIR, `${record.prefix}.json`), JSON.stringify(record) + '\n');
}

export function forgetOwner(prefix: string): void {
  rmSync(path.join(STATE_DIR, `${prefix}.json`), { force: true });
}

export function ownerRecords(): OwnerRecord[] {
  let names: string[];
  try {
    names = readdirSync(STATE_DIR).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      return [JSON.parse(readFileSync(path.join(STATE_DIR, name), 'utf8')) as OwnerRecord];
    } catch {
      return [];
    }
  });
}

/** Start time of a process in clock ticks since boot, or undefined when it is gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** Whether pid is alive and, when startTime is given, still the same process. */
export function isAlive(pid: number, startTime?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}
