// The addon's microbenchmark entry points (npm run bench) do the work they claim, and refuse bad input.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { frame } from '../../harness/src/frames.js';
import { loadTestAddon, testAddonPath } from '../../relay/src/test-addon.js';

const built = existsSync(testAddonPath);

describe.skipIf(!built)('bench entry points', () => {
  const addon = built ? loadTestAddon() : undefined!;

  it('parse: every iteration parses the frame', () => {
    expect(addon.benchParse(frame({ payload: 512 }), 10)).toBe(5120);
    expect(addon.benchParse(frame({ dst: [10, 0, 0, 1] }), 10)).toBe(0); // not multicast: dropped each time
    expect(() => addon.benchParse(frame(), 0)).toThrow(/iterations must be an integer from 1/);
  });

  it('lookup: every rule of the table is found, in every round', () => {
    expect(new addon.LookupBench(1000).run(2500)).toBe(2500);
    expect(() => new addon.LookupBench(0)).toThrow(/rules/);
  });

  it('batch: every datagram is taken by the kernel, as GSO messages of one flow or interleaved flows', () => {
    expect(new addon.BatchBench(512, 1).run(3, 16)).toBe(48);
    expect(new addon.BatchBench(512, 16).run(3, 64)).toBe(192);
    expect(() => new addon.BatchBench(512, 1).run(1, 1025)).toThrow(/perBatch must be an integer from 1 to 1024/);
    expect(() => new addon.BatchBench(512, 65)).toThrow(/flows/);
  });
});
