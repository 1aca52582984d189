// npm run setup --check: on this machine (after setup) everything is there; with socat hidden
// from PATH it names the package and exits 1, so "ready" means something.
import { mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';

const SETUP = path.join(projectRoot, 'dist', 'harness', 'src', 'cli', 'setup.js');
const reason = skipReason();
announceSkip('npm run setup', reason);

/** A PATH holding the commands setup looks for and uses, but for those left out. */
async function pathWithout(left: string[]): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-path-'));
  const commands = ['sh', 'bash', 'cat', 'ip', 'tc', 'bridge', 'setpriv', 'socat', 'smcrouted', 'tcpdump', 'ethtool', 'chromium', 'prometheus', 'promtool', 'clang++', 'systemd-analyze', 'ssh', 'sshd', 'apt-get'];
  for (const c of commands.filter((c) => !left.includes(c))) {
    const found = await execa('sh', ['-c', `command -v ${c}`], { reject: false });
    if (found.exitCode === 0) symlinkSync(found.stdout.trim(), path.join(dir, c));
  }
  return dir;
}

describe.skipIf(reason)('npm run setup --check', () => {
  it('finds every package and kernel feature here', async () => {
    const r = await execa(process.execPath, [SETUP, '--check'], { reject: false });
    expect(r.stdout).toMatch(/ok +AF_PACKET with PACKET_FANOUT: two sockets in fanout group \d+/);
    expect(r.stdout).toMatch(/ok +bridge with IGMP snooping/);
    expect(r.stdout, r.stdout).toMatch(/setup: ready/);
    expect(r.exitCode).toBe(0);
  });

  it('names what is missing and exits 1 (socat hidden from PATH)', async () => {
    const r = await execa(process.execPath, [SETUP, '--check'], { reject: false, env: { PATH: await pathWithout(['socat']) } });
    expect(r.stdout).toMatch(/MISSING socat +the socat contender/);
    expect(r.stdout).toMatch(/missing:\n {2}- package socat: socat/);
    expect(r.exitCode).toBe(1);
  });
});
