// The hosts backend's check, for real: two namespaces run Debian's OpenSSH server, reached over a
// management link, joined by two veth pairs for cables; this checkout is the build both use.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createHostsLab, type HostsLab } from '../../netns/hosts-lab.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';

const reason = skipReason(['sshd', 'ssh', 'ssh-keygen', 'socat']);
announceSkip('hosts backend (OpenSSH)', reason);

let lab: HostsLab | undefined;
afterEach(async () => {
  await lab?.destroy();
  lab = undefined;
});

/** An inventory for the lab, with `change` applied to each host's entry. */
function inventory(l: HostsLab, dir: string, change: { tester?: object; dut?: object } = {}): string {
  const common = { key: l.key, knownHosts: l.knownHosts, dir: projectRoot };
  const file = path.join(dir, `hosts-${Math.random().toString(36).slice(2)}.json5`);
  writeFileSync(file, JSON.stringify({
    tester: { ssh: `root@${l.tester.address}`, ...common, tx: l.tester.tx, rx: l.tester.rx, ...change.tester },
    dut: { ssh: `root@${l.dut.address}`, ...common, input: l.dut.input, output: l.dut.output, ...change.dut },
    between: 'cable',
  }));
  return file;
}

const check = (file: string, ...extra: string[]) => execa(process.execPath, [path.join(projectRoot, 'dist', 'harness', 'src', 'cli', 'hosts.js'), 'check', '--hosts', file, ...extra], { reject: false });

describe.skipIf(reason)('hosts check over SSH', () => {
  it('passes two reachable hosts on this build, recording kernel and NICs; names an unreachable host and a wrong key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-hosts-'));
    lab = await createHostsLab({ dir });
    const ok = await check(inventory(lab, dir));
    expect(ok.exitCode, String(ok.stdout) + String(ok.stderr)).toBe(0);
    const lines = String(ok.stdout).split('\n');
    expect(lines.some((l) => new RegExp(`^PASS tester: interface ${lab!.tester.tx}: driver veth, (\\d+ Mb/s|speed unknown), MTU 1500$`).test(l))).toBe(true);
    expect(lines).toContain('PASS dut: root: uid 0');
    expect(lines.some((l) => /^PASS dut: socat: socat version \d/.test(l))).toBe(true);
    expect(lines.some((l) => /^PASS tester: same build as here: commit [0-9a-f]{12}/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^hosts: PASS \(\d+\/\d+ checks\)$/);
    const json = JSON.parse(String((await check(inventory(lab, dir), '--json')).stdout)) as { facts: { dut: { kernel: string; nics: { driver: string }[] } } };
    expect(json.facts.dut.kernel).toMatch(/^Linux /);
    expect(json.facts.dut.nics.map((n) => n.driver)).toEqual(['veth', 'veth']);

    // Nothing listens on port 2222: the tester is unreachable, said so; the DUT still checked.
    const refused = await check(inventory(lab, dir, { tester: { port: 2222 } }));
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stdout)).toMatch(new RegExp(`^FAIL tester: reachable over SSH: tester \\(root@${lab.tester.address}, port 2222\\): unreachable: .*Connection refused`, 'm'));
    expect(String(refused.stdout)).toContain('PASS dut: root: uid 0');
    // A key the hosts do not know.
    const other = path.join(dir, 'other');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrongKey = await check(inventory(lab, dir, { dut: { key: other } }));
    expect(wrongKey.exitCode).toBe(1);
    expect(String(wrongKey.stdout)).toMatch(/^FAIL dut: reachable over SSH: dut .*: authentication failed \(wrong key or user\?\): .*Permission denied/m);
    // An interface the DUT does not have.
    const noIf = await check(inventory(lab, dir, { dut: { output: 'nosuch0' } }));
    expect(String(noIf.stdout)).toContain('FAIL dut: interface nosuch0: no such interface');
  }, 120_000);

  it('fails a DUT without socat, naming it and how to get it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-hosts-'));
    lab = await createHostsLab({ dir, dutWithoutSocat: true });
    const r = await check(inventory(lab, dir));
    expect(r.exitCode).toBe(1);
    expect(String(r.stdout).split('\n').filter((l) => l.startsWith('FAIL'))).toEqual(['FAIL dut: socat: not found or does not run (apt-get install socat)']);
  }, 120_000);

  it('refuses an inventory it cannot use, naming the field (exit 2)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-hosts-'));
    const file = path.join(dir, 'bad.json5');
    writeFileSync(file, "{ tester: { ssh: 'tester', dir: '/opt/mcr', tx: 'a', rx: 'b' }, dut: {} }");
    const r = await check(file);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain(`hosts file ${file}: tester.ssh must be user@host (got "tester")`);
  });
});
