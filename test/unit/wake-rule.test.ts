// The harness's copy of the ring's wake-up rule is the native one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NAP_RULE, framesPerWake, napUs, projectRoot } from '../../relay/src/api.js';

const ingress = readFileSync(path.join(projectRoot, 'relay', 'native', 'ingress.cc'), 'utf8');
const constant = (name: string) => Number(new RegExp(`constexpr uint64_t ${name} = (\\d+);`).exec(ingress)?.[1]);

describe('wake-up rule', () => {
  it("has ingress.cc's constants", () => {
    expect(constant('kNapStartRate')).toBe(NAP_RULE.startRate);
    expect(constant('kNapFullRate')).toBe(NAP_RULE.fullRate);
    expect(constant('kNapFrames')).toBe(NAP_RULE.frames);
    expect(constant('kMaxNapNs')).toBe(NAP_RULE.maxNapUs * 1000);
  });

  it("gives the naps ingress.cc's comment lists, and batches from about 23,000 frames/s", () => {
    expect([20_000, 22_000, 26_000, 30_000, 36_000, 40_000, 60_000].map((r) => Math.round(napUs(r)))).toEqual([0, 25, 75, 125, 200, 200, 133]);
    expect(framesPerWake(10_000)).toBe(1);
    expect(framesPerWake(23_000)).toBeLessThan(2);
    expect(framesPerWake(24_000)).toBeGreaterThan(2);
    expect(framesPerWake(60_000)).toBeCloseTo(9, 5);
  });
});
