import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupGroup, lookupUser, setprivArgs, unreadableBy } from '../../relay/src/privileges.js';

describe('worker privileges', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-priv-'));
  const passwd = path.join(dir, 'passwd');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nmcr:x:997:996::/nonexistent:/usr/sbin/nologin\n');
  const group = path.join(dir, 'group');
  writeFileSync(group, 'root:x:0:\nmcrctl:x:995:alice\n');
  const nobody = { user: 'nobody', uid: 65534, gid: 65534 };

  it('looks users and groups up by name or number, and names what is missing', () => {
    expect(lookupUser('mcr', passwd)).toEqual({ user: 'mcr', uid: 997, gid: 996 });
    expect(lookupUser('997', passwd)).toEqual({ user: 'mcr', uid: 997, gid: 996 });
    expect(() => lookupUser('ghost', passwd)).toThrow(`--user ghost: no such user in ${passwd}`);
    expect(lookupGroup('mcrctl', group)).toBe(995);
    expect(() => lookupGroup('nope', group)).toThrow(/--control-group nope: no such group/);
  });

  it('tells why a user cannot read a file: an unsearchable directory on the way, or the file itself', () => {
    const open = path.join(dir, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = path.join(open, 'worker.js');
    writeFileSync(file, '', { mode: 0o644 });
    expect(unreadableBy(file, nobody)).toBeUndefined();
    chmodSync(file, 0o600);
    expect(unreadableBy(file, nobody)).toBe(`${file} is not readable by nobody`);
    chmodSync(file, 0o644);
    chmodSync(open, 0o700);
    expect(unreadableBy(file, nobody)).toBe(`${open} is not searchable by nobody (mode 700)`);
    expect(unreadableBy(file, { user: 'root', uid: 0, gid: 0 })).toBeUndefined();
    chmodSync(open, 0o755);
  });

  it('keeps CAP_NET_RAW only, in every set, with no_new_privs', () => {
    expect(setprivArgs(nobody)).toEqual(['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all,+net_raw', '--ambient-caps=-all,+net_raw', '--bounding-set=-all,+net_raw', '--no-new-privs', '--pdeathsig', 'KILL', '--']);
  });
});
