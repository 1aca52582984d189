// The state file on a full disk (issue 21, item 6): a small tmpfs holds it; filled to one free page,
// a change whose table needs more is refused, and the old file, the running table and a restart
// all agree. Before, the short write went unchecked and a truncated file was committed.
import { execa } from 'execa';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { announceSkip, skipReason } from './env.js';
import { startRig, type Rig } from './relay-rig.js';

const reason = skipReason(['mount', 'umount']);
announceSkip('state file on a full disk', reason);
const PAGE = 4096;

let rig: Rig | undefined;
let mountPoint: string | undefined;
afterEach(async () => {
  await rig?.destroy();
  rig = undefined;
  if (mountPoint) await execa('umount', [mountPoint], { reject: false });
  mountPoint = undefined;
});

/** Fills the file system of `dir` with `file` until it is full, then frees `keep` bytes of it. */
function fill(file: string, keep: number): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(PAGE, 1);
  try {
    for (;;) if (writeSync(fd, chunk) < chunk.length) break;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  ftruncateSync(fd, Math.max(0, statSync(file).size - keep));
  closeSync(fd);
}

const rulesOf = (r: Rig, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ name: `r${from + i}`, inputInterface: r.chain.relayIn.ifname, inputGroup: `239.1.${Math.floor((from + i) / 250)}.${((from + i) % 250) + 1}`, inputPort: 5000, outputs: [{ group: '239.2.0.1', port: 5000 + from + i, interface: r.chain.relayOut.ifname }] }));

describe.skipIf(reason)('state file on a full disk', () => {
  it('a change the disk cannot hold is refused; the old file, the table and a restart agree; leftovers are cleaned at start', async () => {
    mountPoint = mkdtempSync(path.join(os.tmpdir(), 'mcr-tmpfs-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mountPoint]);
    const stateFile = path.join(mountPoint, 'state.json');
    // A temporary file a crash left behind: removed at start.
    writeFileSync(`${stateFile}.tmp-999999`, '{"half":');
    rig = await startRig(['--workers', '1', '--no-igmp', '--state-file', stateFile]);
    expect(existsSync(`${stateFile}.tmp-999999`)).toBe(false);

    await rig.mcrd.client.request('apply', { add: rulesOf(rig, 40) });
    const before = readFileSync(stateFile, 'utf8');
    expect(before.length).toBeGreaterThan(2 * PAGE); // the next table cannot fit in one page

    fill(path.join(mountPoint, 'filler'), PAGE);
    const refused = await rig.mcrd.client.request('apply', { add: rulesOf(rig, 10, 40) }).then(
      () => 'acknowledged',
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/state file .* not written .*(ENOSPC|no space)/i);
    expect(readFileSync(stateFile, 'utf8')).toBe(before);
    const listed = (await rig.mcrd.client.request<{ rules: { name: string }[] }>('list')).rules.map((r) => r.name);
    expect(listed).toEqual(JSON.parse(before).rules.map((r: { name: string }) => r.name));
    expect(readdirSync(mountPoint).filter((f) => f.includes('.tmp-'))).toEqual([]);

    // Room again: the change goes through, and a restart restores exactly the running table.
    rmSync(path.join(mountPoint, 'filler'));
    await rig.mcrd.client.request('apply', { add: rulesOf(rig, 10, 40) });
    const running = (await rig.mcrd.client.request<{ rules: { name: string }[] }>('list')).rules.map((r) => r.name);
    expect(running).toHaveLength(50);
    rig.mcrd.client.close();
    await rig.mcrd.stop();
    await rig.restart(['--workers', '1', '--no-igmp', '--state-file', stateFile]);
    expect((await rig.mcrd.client.request<{ rules: { name: string }[] }>('list')).rules.map((r) => r.name)).toEqual(running);
  });
});
