// Least privilege for workers: they run as an unprivileged user keeping only CAP_NET_RAW (for
// AF_PACKET and SO_BINDTODEVICE). setpriv (util-linux, on every Debian) sets uid, gid, no
// supplementary groups, ambient/inheritable/bounding capabilities and no_new_privs *before* node
// starts, so every thread of the worker has the same reduced set. (Dropping them from inside a
// running node would leave its other threads' permitted sets untouched.)
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** An account from the passwd database: name or numeric uid. */
export function lookupUser(nameOrUid: string, passwd = '/etc/passwd'): RunAs {
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (uid === undefined || gid === undefined) continue;
    if (name === nameOrUid || uid === nameOrUid) return { user: name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`--user ${nameOrUid}: no such user in ${passwd}`);
}

/** A group's gid by name or number. */
export function lookupGroup(nameOrGid: string, groups = '/etc/group'): number {
  for (const line of readFileSync(groups, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (gid !== undefined && (name === nameOrGid || gid === nameOrGid)) return Number(gid);
  }
  throw new Error(`--control-group ${nameOrGid}: no such group in ${groups}`);
}

/** Why `who` cannot read `file` (checking every directory on the way by its mode bits), or undefined. */
export function unreadableBy(file: string, who: RunAs): string | undefined {
  const absolute = path.resolve(file);
  const may = (p: string, bit: number): boolean => {
    const st = statSync(p);
    if (who.uid === 0) return true;
    if (st.uid === who.uid) return (st.mode & (bit << 6)) !== 0;
    if (st.gid === who.gid) return (st.mode & (bit << 3)) !== 0;
    return (st.mode & bit) !== 0;
  };
  const parts = absolute.split(path.sep).filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = path.sep + parts.slice(0, i).join(path.sep);
    if (!may(dir, 1)) return `${dir} is not searchable by ${who.user} (mode ${(statSync(dir).mode & 0o777).toString(8)})`;
  }
  if (!may(absolute, 4)) return `${absolute} is not readable by ${who.user}`;
  return undefined;
}

export function findSetpriv(): string {
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // try the next
    }
  }
  try {
    return execFileSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error("setpriv not found (Debian: apt-get install util-linux); it drops the workers' privileges. --user root runs them as root instead");
  }
}

/**
 * setpriv's arguments up to (not including) the program it runs. --pdeathsig KILL: a worker dies
 * with mcrd, at once and together with its siblings; otherwise each noticed the closed channel on
 * its own, some milliseconds apart, and the first one's flows moved to a sibling that died next —
 * two gaps in a stream where one belongs.
 */
export function setprivArgs(who: RunAs): string[] {
  return [`--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--inh-caps=-all,+net_raw', '--ambient-caps=-all,+net_raw', '--bounding-set=-all,+net_raw', '--no-new-privs', '--pdeathsig', 'KILL', '--'];
}
