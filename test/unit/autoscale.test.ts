// The scaling-by-load rule (relay/src/autoscale.ts decide()), interval by interval.
import { describe, expect, it } from 'vitest';
import { COOL_DOWN_MS, DOWN_AFTER, DOWN_RATIO, INTERVAL_MS, UP_AFTER, UP_CPU, decide, initialState, type LoadSample } from '../../relay/src/autoscale.js';

import { parseWorkerRange } from '../../relay/src/config.js';

const range = { min: 1, max: 4 };

/** Runs decide() over samples one interval apart and returns the worker count after each, applying its decisions. */
function run(start: number, load: (workers: number, i: number) => Omit<LoadSample, 'workers'>, intervals: number, upCpu = UP_CPU) {
  const state = initialState();
  let workers = start;
  const counts: number[] = [];
  const reasons: string[] = [];
  for (let i = 0; i < intervals; i++) {
    const decision = decide(range, state, { workers, ...load(workers, i) }, i * INTERVAL_MS, upCpu);
    if (decision) {
      workers = decision.workers;
      reasons.push(decision.reason);
    }
    counts.push(workers);
  }
  return { counts, reasons };
}

/** A total load of `cores` spread evenly over the workers. */
const even = (cores: number) => (workers: number) => ({ cpu: new Array<number>(workers).fill(cores / workers), drops: 0 });

describe('scaling by load', () => {
  it('adds a worker after UP_AFTER busy intervals, then waits out the cool-down before the next', () => {
    const { counts, reasons } = run(1, even(2.4), 20);
    expect(counts[UP_AFTER - 2]).toBe(1);
    expect(counts[UP_AFTER - 1]).toBe(2);
    const second = counts.indexOf(3);
    expect(second * INTERVAL_MS - (UP_AFTER - 1) * INTERVAL_MS).toBeGreaterThanOrEqual(COOL_DOWN_MS);
    expect(counts.at(-1)).toBe(4); // 2.4 cores need 4 workers below UP_CPU each
    expect(reasons[0]).toMatch(/busiest worker used 240% of a core \(at least 75%\) over 2 s/);
  });

  it('adds one at once when the kernel dropped frames at the rings, and never goes past the maximum', () => {
    const { counts, reasons } = run(3, (w) => ({ cpu: new Array<number>(w).fill(0.2), drops: 10 }), 30);
    expect(counts[0]).toBe(4);
    expect(Math.max(...counts)).toBe(4);
    expect(reasons).toEqual(['the kernel dropped 10 frames at the rings in the last interval']);
  });

  it('removes a worker after DOWN_AFTER idle intervals, down to the minimum', () => {
    const { counts, reasons } = run(4, even(0.1), 60);
    expect(counts[DOWN_AFTER - 2]).toBe(4);
    expect(counts[DOWN_AFTER - 1]).toBe(3);
    expect(counts.at(-1)).toBe(1);
    expect(reasons[0]).toMatch(/3 workers would each use 3% of a core \(below 35%\) over 10 s/);
  });

  it('gives a worker back though single seconds are noisy, where the mean is idle', () => {
    // Two workers, 0.1 cores in all but every third second 0.45: each a busy second on its own.
    const { counts } = run(2, (w, i) => ({ cpu: new Array<number>(w).fill((i % 3 === 2 ? 0.45 : 0.1) / w), drops: 0 }), 30);
    expect(counts.at(-1)).toBe(1);
  });

  it('never flaps under a steady load, whatever its size or the busy threshold', () => {
    for (const up of [0.2, UP_CPU, 0.95])
    for (let cores = 0.05; cores <= 3; cores += 0.05) {
      const { counts } = run(1, even(cores), 300, up);
      const changes = counts.slice(1).filter((c, i) => c !== counts[i]);
      const ups = counts.slice(1).filter((c, i) => c > counts[i]).length;
      expect(changes.length, `${cores.toFixed(2)} cores`).toBe(ups); // only ever up, then steady
      const settled = counts.at(-1)!;
      expect(cores / settled < up || settled === range.max, `${cores.toFixed(2)} cores on ${settled}`).toBe(true);
      expect(settled === 1 || cores / (settled - 1) >= DOWN_RATIO * up, `${cores.toFixed(2)} cores on ${settled}`).toBe(true);
    }
  });

  it('brings a count outside the range back into it at once', () => {
    expect(decide({ min: 2, max: 3 }, initialState(), { workers: 1, cpu: [0], drops: 0 }, 0)).toEqual({ workers: 2, reason: 'below the minimum of 2' });
    expect(decide({ min: 2, max: 3 }, initialState(), { workers: 5, cpu: [0], drops: 0 }, 0)).toEqual({ workers: 3, reason: 'above the maximum of 3' });
  });

  it('--workers takes a count or MIN..MAX and names what is wrong', () => {
    expect(parseWorkerRange(3)).toEqual({ min: 3, max: 3 });
    expect(parseWorkerRange('3')).toEqual({ min: 3, max: 3 });
    expect(parseWorkerRange('1..4')).toEqual({ min: 1, max: 4 });
    for (const bad of ['0', '4..1', '1..257', 'x', '1..', 2.5]) expect(() => parseWorkerRange(bad), String(bad)).toThrow(/workers must be a count from 1 to 256/);
  });
});
