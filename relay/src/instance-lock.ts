// One mcrd per control socket and per state file: an exclusive flock(2) on "<file>.lock".
//
// Why flock and how without native code: a flock belongs to the open file description, not to
// the process that asked for it. mcrd opens the lock file and hands that very descriptor to
// util-linux's `flock --nonblock <fd>` (the same package as setpriv, which mcrd needs anyway); the
// helper takes the lock on the shared description and exits, and the lock stays with mcrd's
// descriptor. The kernel drops it when mcrd's descriptor closes, so a crashed or SIGKILLed mcrd
// never leaves a stale lock (a pid file would). Node opens files O_CLOEXEC and workers are forked
// with only stdio and IPC, so no worker inherits it. The pid written inside is only for the
// message of the second instance; the lock itself is the flock.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** flock(1)'s exit status when the lock is held elsewhere (asked for with --conflict-exit-code). */
const HELD = 75;

export interface InstanceLock {
  readonly path: string;
  /** Drops the lock (the process's exit does too). */
  release(): void;
}

/** The pid a holder wrote into the lock file; waits briefly, as it writes it just after locking. */
async function holderOf(lockPath: string): Promise<string> {
  for (let i = 0; i < 10; i++) {
    const pid = readFileSync(lockPath, 'utf8').trim();
    if (/^\d+$/.test(pid)) return pid;
    await sleep(20);
  }
  return 'unknown';
}

/**
 * Takes the lock beside `file` ("<file>.lock") for this process, or throws
 * "<what> <file> is in use by mcrd pid N (lock <file>.lock)" when another holds it.
 */
export async function lockBeside(file: string, what: string): Promise<InstanceLock> {
  const lockPath = `${file}.lock`;
  let fd: number;
  try {
    fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (err) {
    throw new Error(`${what} ${file}: cannot open its lock file ${lockPath}: ${(err as Error).message}`);
  }
  const r = spawnSync('flock', ['--nonblock', '--exclusive', '--conflict-exit-code', String(HELD), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
  if (r.status !== 0) {
    closeSync(fd);
    if (r.status === HELD) throw new Error(`${what} ${file} is in use by mcrd pid ${await holderOf(lockPath)} (lock ${lockPath})`);
    const why = r.error ? `${r.error.message} (util-linux's flock is needed)` : r.stderr.trim() || `flock exit ${r.status ?? r.signal}`;
    throw new Error(`${what} ${file}: cannot lock ${lockPath}: ${why}`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let open = true;
  return {
    path: lockPath,
    release() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
