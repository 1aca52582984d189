// The typical window's tail (measure.ts windowedTail): the median over windows of each one's p99,
// windows too small for a p99 left out, so stalls in a minority of windows do not set it.
import { describe, expect, it } from 'vitest';
import { MIN_WINDOW_PACKETS, windowedTail } from '../../harness/src/measure.js';

describe('windowedTail', () => {
  it('takes the median of the windows with enough packets; a stall in a minority of them does not move it', () => {
    const counts = [0, 500, 500, 500, 500, 500, 40];
    expect(windowedTail({ ms: 100, counts, p99Ns: [0, 100e3, 110e3, 5e6, 120e3, 9e6, 50e6] })).toEqual({ ms: 100, windows: 5, p99Ns: 120e3 });
    // A contender that adds latency to every packet moves every window, and the median with them.
    expect(windowedTail({ ms: 100, counts, p99Ns: [0, 300e3, 310e3, 5e6, 320e3, 9e6, 50e6] })!.p99Ns).toBe(320e3);
  });

  it('has nothing to say without windows of MIN_WINDOW_PACKETS or more, or without windows at all', () => {
    expect(windowedTail({ ms: 100, counts: [MIN_WINDOW_PACKETS - 1], p99Ns: [1e5] })).toBeUndefined();
    expect(windowedTail(undefined)).toBeUndefined();
  });
});
