// saveState under the failures a disk can have (issue 21, item 6): short writes, a failing write,
// a directory fsync that fails after the rename.
import fs, { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadState, saveState, setStateFileWarnings, type StateIo } from '../../relay/src/state-file.js';
import type { Rule } from '../../relay/src/rules.js';

const rule = (n: number): Rule => ({ id: String(n), name: `r${n}`, inputInterface: 'eth0', inputGroup: `239.1.0.${n}`, inputPort: 5000, outputs: [{ group: '239.2.0.1', port: 5000 + n, interface: 'eth1', ttl: 8 }] });
const fresh = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'mcr-state-')), 'state.json');
const temporaries = (file: string) => readdirSync(path.dirname(file)).filter((f) => f.includes('.tmp-'));

describe('saveState', () => {
  it('goes on after short writes until all is written', () => {
    const file = fresh();
    let calls = 0;
    const io: StateIo = { ...fs, writeSync: ((fd: number, buf: Buffer, off: number, len: number) => (calls++, fs.writeSync(fd, buf, off, Math.min(len, 100)))) as StateIo['writeSync'] };
    saveState(file, [1, 2, 3].map(rule), io);
    expect(calls).toBeGreaterThan(3);
    expect(loadState(file)).toEqual([1, 2, 3].map(rule));
  });

  it('a write that fails (full disk) throws, leaves the old file whole and no temporary file', () => {
    const file = fresh();
    saveState(file, [rule(1)]);
    const before = readFileSync(file, 'utf8');
    let first = true;
    const io: StateIo = {
      ...fs,
      writeSync: ((fd: number, buf: Buffer, off: number, len: number) => {
        if (first) return (first = false), fs.writeSync(fd, buf, off, 10);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }) as StateIo['writeSync'],
    };
    expect(() => saveState(file, [rule(1), rule(2)], io)).toThrow(/ENOSPC/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(temporaries(file)).toEqual([]);
  });

  it('a directory fsync failing after the rename does not throw (the disk holds the new table), and is said', () => {
    const file = fresh();
    saveState(file, [rule(1)]);
    const warned = vi.fn();
    setStateFileWarnings({ warn: warned });
    let fsyncs = 0;
    const io: StateIo = {
      ...fs,
      fsyncSync: ((fd: number) => {
        if (++fsyncs === 2) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        fs.fsyncSync(fd);
      }) as StateIo['fsyncSync'],
    };
    expect(() => saveState(file, [rule(1), rule(2)], io)).not.toThrow();
    expect(loadState(file)).toEqual([rule(1), rule(2)]);
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/directory could not be synced \(EIO.*the change stands/));
  });

  it('loadState removes temporary files a dead mcrd left, and only those', () => {
    const file = fresh();
    saveState(file, [rule(1)]);
    setStateFileWarnings({ warn: () => undefined });
    writeFileSync(`${file}.tmp-4242`, '{"format":');
    writeFileSync(`${file}.tmp-notes`, 'mine');
    expect(loadState(file)).toEqual([rule(1)]);
    expect(temporaries(file)).toEqual(['state.json.tmp-notes']);
  });
});
