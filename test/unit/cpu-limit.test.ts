// parseCpuLimit: percentages and fractions of one CPU, bounded by the CPU count and the kernel's 1% minimum.
import { describe, expect, it } from 'vitest';
import { createCpuLimit, parseCpuLimit } from '../../harness/src/cpu-limit.js';

describe('parseCpuLimit', () => {
  it('accepts percentages and fractions', () => {
    expect(parseCpuLimit('25%', 2)).toBe(0.25);
    expect(parseCpuLimit('0.25', 2)).toBe(0.25);
    expect(parseCpuLimit('0.5', 2)).toBe(0.5);
    expect(parseCpuLimit('.5', 2)).toBe(0.5);
    expect(parseCpuLimit(' 12.5 % ', 2)).toBe(0.125);
    expect(parseCpuLimit('1%', 1)).toBe(0.01);
    expect(parseCpuLimit('150%', 2)).toBe(1.5);
    expect(parseCpuLimit('2', 2)).toBe(2);
    expect(parseCpuLimit('100%', 1)).toBe(1);
  });

  it('rejects zero, negatives and garbage with the reason', () => {
    expect(() => parseCpuLimit('0', 2)).toThrow(/above 0%/);
    expect(() => parseCpuLimit('0%', 2)).toThrow(/above 0%/);
    expect(() => parseCpuLimit('-1', 2)).toThrow(/bad CPU limit "-1"/);
    expect(() => parseCpuLimit('abc', 2)).toThrow(/bad CPU limit "abc".*"25%"/);
    for (const bad of ['', '%', '25%%', '1e-1', '0x10', '25 percent', 'NaN', 'Infinity', '1.2.3']) {
      expect(() => parseCpuLimit(bad, 2), bad).toThrow(/bad CPU limit/);
    }
  });

  it('rejects less than 1% (below the kernel minimum quota)', () => {
    expect(() => parseCpuLimit('0.5%', 2)).toThrow(/below 1%/);
    expect(() => parseCpuLimit('0.001', 2)).toThrow(/below 1%/);
  });

  it('rejects more than the CPU budget', () => {
    expect(() => parseCpuLimit('150%', 1)).toThrow(/exceeds the 1 CPU\(s\).*at most 100%/);
    expect(() => parseCpuLimit('1.01', 1)).toThrow(/exceeds/);
    expect(() => parseCpuLimit('300%', 2)).toThrow(/at most 200%/);
  });

  it('defaults the budget to this machine', () => {
    expect(() => parseCpuLimit('100000%')).toThrow(/exceeds/);
    expect(parseCpuLimit('100%')).toBe(1);
  });
});

describe('createCpuLimit argument checks (before touching any cgroup)', () => {
  it('refuses names that are not a single path component', async () => {
    for (const bad of ['', 'a/b', '/abs', '..', 'x..y', '.hidden']) {
      await expect(createCpuLimit(bad, 0.5), bad).rejects.toThrow(/bad cgroup name/);
    }
  });

  it('refuses fractions out of range', async () => {
    await expect(createCpuLimit('mcr-unit-never-created', 0)).rejects.toThrow(/above 0%/);
    await expect(createCpuLimit('mcr-unit-never-created', Number.NaN)).rejects.toThrow(/above 0%/);
    await expect(createCpuLimit('mcr-unit-never-created', 1e6)).rejects.toThrow(/exceeds/);
  });
});
