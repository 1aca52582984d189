// mcrd's warning when its output groups outgrow the kernel's neighbour table.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../relay/src/log.js';
import { NeighbourWarning, neighbourThreshold } from '../../relay/src/neighbour-limit.js';

function recorder(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const none = () => undefined;
  return { warnings, debug: none, info: none, error: none, warn: (m: string) => warnings.push(m) };
}

describe('neighbour table warning', () => {
  it('warns once when the output groups cross gc_thresh2, again only after falling back below it', () => {
    const log = recorder();
    const w = new NeighbourWarning(log, { value: 512, assumed: false });
    w.check(512);
    expect(log.warnings).toEqual([]);
    w.check(513);
    w.check(1000);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/^513 output groups exceed net.ipv4.neigh.default.gc_thresh2 \(512\).*gc_thresh1\/2\/3/);
    w.check(10);
    w.check(600);
    expect(log.warnings).toHaveLength(2);
  });

  it('reads the threshold, assumes the default where it cannot, stays quiet without one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-neigh-'));
    writeFileSync(path.join(dir, 'big'), '4096\n');
    expect(neighbourThreshold(path.join(dir, 'big'))).toEqual({ value: 4096, assumed: false });
    // In a network namespace of its own the sysctl is absent: the kernel default, said to be assumed.
    expect(neighbourThreshold(path.join(dir, 'missing'))).toEqual({ value: 512, assumed: true });
    const assumed = recorder();
    new NeighbourWarning(assumed, { value: 512, assumed: true }).check(1000);
    expect(assumed.warnings[0]).toMatch(/\(512, the kernel's default: not readable in this network namespace\)/);
    const log = recorder();
    new NeighbourWarning(log, undefined).check(100000);
    expect(log.warnings).toEqual([]);
  });
});
