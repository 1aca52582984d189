// Ownership records of live topologies: a run writes one file per prefix with its pid, so a
// later run can sweep what a dead run left behind without ever touching a live run's namespaces.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const STATE_DIR = process.env.MCR_NETNS_STATE_DIR ?? '/run/mcr-netns';

export interface OwnerRecord {
  prefix: string;
  pid: number;
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

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
