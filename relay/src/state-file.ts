// mcrd's rule table on disk (--state-file), so a restart or a crash loses no acknowledged change.
// Saved atomically before a change is acknowledged: written whole to a temporary file (short writes
// continued, a full disk an error), fsync'd, renamed over the old one, and the directory fsync'd,
// so a reader sees the old table or the new one. saveState throws only while the old file still
// stands, so the caller's undo always leaves memory and disk alike.
import fs from 'node:fs';
import path from 'node:path';
import { validateRuleSpec, type Rule } from './rules.js';
import { MAX_MEMBERS } from './steering.js';

export const STATE_FORMAT = 'mcrd-state';
export const STATE_VERSION = 1;

interface StateDocument {
  format: typeof STATE_FORMAT;
  version: number;
  savedAt: string;
  rules: Rule[];
  /** Worker counts set at runtime (mcrctl workers set), per input interface; absent: none set. */
  workers?: Record<string, number>;
}

/** Where the state file's warnings go (mcrd sets its logger); stderr until then. */
let warn = (message: string) => console.error(`mcrd: ${message}`);
export function setStateFileWarnings(log: { warn(message: string): void }): void {
  warn = (message) => log.warn(message);
}

/** The system calls saveState makes, replaceable by tests (short writes, failing fsync). */
export type StateIo = Pick<typeof fs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>;

const temporaryPrefix = (file: string) => `${path.basename(file)}.tmp-`;

/** Writes all of data: write(2) may take less (a nearly full disk), so it goes on from there. */
function writeAll(io: StateIo, fd: number, data: Buffer): void {
  for (let done = 0; done < data.length; ) {
    const n = io.writeSync(fd, data, done, data.length - done);
    if (n <= 0) throw new Error(`write returned ${n} with ${data.length - done} bytes left`);
    done += n;
  }
}

export function saveState(file: string, rules: Rule[], io: StateIo = fs, workers: Record<string, number> = {}): void {
  const doc: StateDocument = { format: STATE_FORMAT, version: STATE_VERSION, savedAt: new Date().toISOString(), rules, ...(Object.keys(workers).length ? { workers } : {}) };
  const tmp = path.join(path.dirname(file), `${temporaryPrefix(file)}${process.pid}`);
  try {
    const fd = io.openSync(tmp, 'w', 0o600);
    try {
      writeAll(io, fd, Buffer.from(JSON.stringify(doc, null, 1) + '\n'));
      io.fsyncSync(fd);
    } finally {
      io.closeSync(fd);
    }
    io.renameSync(tmp, file);
  } catch (err) {
    // The old file stands: nothing of this attempt may stay behind on a disk that is full.
    try {
      io.unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
  // From here the file holds the new table, so the change stands. A directory fsync that fails
  // makes it less sure to outlive a power cut, but throwing would have mcrd undo in memory a
  // table the disk keeps (and show it at the next start): said, not undone.
  try {
    const dir = io.openSync(path.dirname(path.resolve(file)), 'r');
    try {
      io.fsyncSync(dir);
    } finally {
      io.closeSync(dir);
    }
  } catch (err) {
    warn(`state file ${file} written, but its directory could not be synced (${(err as Error).message}): the change stands, and may not survive a power cut`);
  }
}

/** Removes temporary files an mcrd that died while saving left beside `file` (only the lock holder calls this). */
function removeLeftovers(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const prefix = temporaryPrefix(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      warn(`state file ${file}: removed ${name}, left by an mcrd that stopped while saving`);
    } catch (err) {
      warn(`state file ${file}: cannot remove leftover ${name}: ${(err as Error).message}`);
    }
  }
}

/** The rules saved in `file`, or undefined when there is no file yet (readState without the worker counts). */
export function loadState(file: string): Rule[] | undefined {
  return readState(file, MAX_MEMBERS)?.rules;
}

/**
 * The rules and the worker counts (each 1 to maxWorkers) saved in `file`, or undefined when there
 * is no file yet. Throws one message naming the file and the first problem for anything else: a
 * state file is used whole or not at all.
 */
export function readState(file: string, maxWorkers: number): { rules: Rule[]; workers: Record<string, number> } | undefined {
  removeLeftovers(file);
  if (!fs.existsSync(file)) return undefined;
  const refuse = (why: string): never => {
    throw new Error(`state file ${file}: ${why}; refusing to start with part of it (repair it, or move it away to start empty)`);
  };
  let doc: Partial<StateDocument>;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StateDocument>;
  } catch (err) {
    return refuse(`unreadable (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== STATE_FORMAT) return refuse(`not an mcrd state file (format must be '${STATE_FORMAT}')`);
  if (doc.version !== STATE_VERSION) return refuse(`version ${String(doc.version)} is not supported (this mcrd reads version ${STATE_VERSION})`);
  if (!Array.isArray(doc.rules)) return refuse("'rules' must be a list");
  const workers = doc.workers ?? {};
  if (typeof workers !== 'object' || workers === null || Array.isArray(workers)) return refuse("'workers' must map interfaces to worker counts");
  for (const [iface, n] of Object.entries(workers)) {
    if (!Number.isInteger(n) || n < 1 || n > maxWorkers) return refuse(`workers of ${iface}: ${JSON.stringify(n)} is not a count from 1 to ${maxWorkers}`);
  }
  const ids = new Set<string>();
  const rules = doc.rules.map((raw, i): Rule => {
    const where = `rule ${i + 1}`;
    if (typeof raw !== 'object' || raw === null) return refuse(`${where} is not an object`);
    const { id, origin, ...spec } = raw as unknown as Record<string, unknown>;
    if (typeof id !== 'string' || !/^[1-9]\d*$/.test(id)) return refuse(`${where}: id '${String(id)}' is not a positive whole number`);
    if (ids.has(id)) return refuse(`${where}: id ${id} appears twice`);
    ids.add(id);
    if (origin !== undefined && origin !== 'config') return refuse(`${where}: origin '${String(origin)}' is unknown`);
    try {
      // Interfaces may be missing while mcrd starts: a restored rule waits for them.
      const rule = validateRuleSpec(spec, () => true);
      return { id, ...rule, ...(origin === 'config' ? { origin: 'config' as const } : {}) };
    } catch (err) {
      return refuse(`${where} (id ${id}): ${(err as Error).message}`);
    }
  });
  return { rules, workers };
}
