// One mcrd per control socket and per state file: a second one exits 1 naming the first one's
// pid, touches nothing, and the first keeps answering (issue 21, item 2).
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MCRD } from '../../harness/src/mcrd.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';
import { startRig, type Rig } from './relay-rig.js';

const reason = skipReason(['flock']);
announceSkip('instance lock integration', reason);
const MCRCTL = path.join(projectRoot, 'bin', 'mcrctl.js');

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.destroy();
  rig = undefined;
});

/** A second mcrd in the first one's namespace, run to its exit. */
const second = (r: Rig, ...args: string[]) =>
  execa('ip', ['netns', 'exec', r.chain.relayIn.ns, process.execPath, MCRD, '--stats-interval', '0', ...args], { reject: false, timeout: 20_000 });
const ping = (socket: string) => execa(process.execPath, [MCRCTL, '--socket', socket, 'ping'], { reject: false });

describe.skipIf(reason)('one mcrd per control socket and state file', () => {
  it('a second mcrd on the same control socket exits 1 naming the holder; the first still answers', async () => {
    const state = (d: string) => path.join(d, 'state.json');
    rig = await startRig(['--workers', '1']);
    const socket = rig.mcrd.socketPath;
    const r = await second(rig, '--control-socket', socket, '--state-file', state(rig.dir) + '.other');
    expect(r.exitCode).toBe(1);
    expect(r.stderr + r.stdout).toMatch(new RegExp(`control socket ${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by mcrd pid ${rig.mcrd.pid}`));
    expect(existsSync(socket)).toBe(true);
    expect((await ping(socket)).stdout).toMatch(/pong|ok|alive/i);
    await expect(rig.mcrd.client.request('ping')).resolves.toEqual({ pong: true });
  });

  it('a second mcrd on the same state file exits 1 naming the holder, and leaves the file alone', async () => {
    rig = await startRig(['--workers', '1']);
    const stateFile = path.join(rig.dir, 'state.json');
    await rig.mcrd.stop();
    await rig.restart(['--workers', '1', '--state-file', stateFile]);
    await rig.mcrd.client.request('add', { rule: { name: 'r1', inputInterface: rig.chain.relayIn.ifname, inputGroup: '239.1.0.1', inputPort: 5000, outputs: [{ group: '239.2.0.1', port: 5000, interface: rig.chain.relayOut.ifname }] } });
    const before = readFileSync(stateFile, 'utf8');
    const r = await second(rig, '--control-socket', path.join(rig.dir, 'other.sock'), '--state-file', stateFile);
    expect(r.exitCode).toBe(1);
    expect(r.stderr + r.stdout).toMatch(new RegExp(`state file .*state\\.json is in use by mcrd pid ${rig.mcrd.pid}`));
    expect(readFileSync(stateFile, 'utf8')).toBe(before);
    expect(existsSync(path.join(rig.dir, 'other.sock'))).toBe(false);
    expect((await ping(rig.mcrd.socketPath)).exitCode).toBe(0);
  });

  it('the lock goes with its holder: after the first mcrd is killed, a new one starts on the same paths', async () => {
    rig = await startRig(['--workers', '1']);
    process.kill(rig.mcrd.pid, 'SIGKILL');
    await rig.mcrd.stop();
    await rig.restart(['--workers', '1']);
    expect((await ping(rig.mcrd.socketPath)).exitCode).toBe(0);
  });
});
