// mcrd's rule table on disk (--state-file), so a restart or a crash loses no acknowledged change.
// Saved atomically before a change is acknowledged: written to a temporary file, fsync'd, renamed
// over the old one, and the directory fsync'd, so a reader sees the old table or the new one.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { validateRuleSpec, type Rule } from './rules.js';

export const STATE_FORMAT = 'mcrd-state';
export const STATE_VERSION = 1;

interface StateDocument {
  format: typeof STATE_FORMAT;
  version: number;
  savedAt: string;
  rules: Rule[];
}

export function saveState(file: string, rules: Rule[]): void {
  const doc: StateDocument = { format: STATE_FORMAT, version: STATE_VERSION, savedAt: new Date().toISOString(), rules };
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(doc, null, 1) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(path.dirname(path.resolve(file)), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * The rules saved in `file`, or undefined when there is no file yet. Throws one message naming the
 * file and the first problem for anything else: a state file is used whole or not at all.
 */
export function loadState(file: string): Rule[] | undefined {
  if (!existsSync(file)) return undefined;
  const refuse = (why: string): never => {
    throw new Error(`state file ${file}: ${why}; refusing to start with part of it (repair it, or move it away to start empty)`);
  };
  let doc: Partial<StateDocument>;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<StateDocument>;
  } catch (err) {
    return refuse(`unreadable (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== STATE_FORMAT) return refuse(`not an mcrd state file (format must be '${STATE_FORMAT}')`);
  if (doc.version !== STATE_VERSION) return refuse(`version ${String(doc.version)} is not supported (this mcrd reads version ${STATE_VERSION})`);
  if (!Array.isArray(doc.rules)) return refuse("'rules' must be a list");
  const ids = new Set<string>();
  return doc.rules.map((raw, i) => {
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
      return { id, ...rule, ...(origin === 'config' ? { origin } : {}) };
    } catch (err) {
      return refuse(`${where} (id ${id}): ${(err as Error).message}`);
    }
  });
}
