// --cpus: placements parsed and checked against the CPUs this process may use; the taskset wrap.
import { describe, expect, it } from 'vitest';
import { allowedCpus, commandLine, expandCpuList, parseCpuPlacement, pinned } from '../../harness/src/placement.js';

describe('CPU placement (--cpus)', () => {
  it('reads roles and their lists; a list runs until the next role', () => {
    expect(parseCpuPlacement('contender=1,generator=0,sink=0', [0, 1])).toEqual({ contender: '1', generator: '0', sink: '0' });
    expect(parseCpuPlacement('contender=2-3,5,generator=0', [0, 1, 2, 3, 4, 5])).toEqual({ contender: '2-3,5', generator: '0' });
    expect(expandCpuList('0,2-4')).toEqual([0, 2, 3, 4]);
  });

  it('refuses unknown roles, repeats, lists with no role, bad ranges and CPUs this process cannot use, naming them', () => {
    expect(() => parseCpuPlacement('relay=1', [0, 1])).toThrow("--cpus: unknown role 'relay' (roles: contender, generator, sink)");
    expect(() => parseCpuPlacement('sink=0,sink=1', [0, 1])).toThrow("--cpus: 'sink' given twice");
    expect(() => parseCpuPlacement('1,contender=0', [0, 1])).toThrow('--cpus: "1" names no role');
    expect(() => parseCpuPlacement('contender=3-1', [0, 1, 2, 3])).toThrow('bad CPU range "3-1" in "3-1": it runs backwards');
    expect(() => parseCpuPlacement('contender=x', [0, 1])).toThrow('bad CPU list "x"');
    expect(() => parseCpuPlacement('contender=1,generator=7', [0, 1])).toThrow('--cpus: generator=7 names CPU 7, which this process cannot use (usable: 0,1)');
  });

  it('reads this process\'s own CPUs from /proc', () => {
    expect(allowedCpus().length).toBeGreaterThan(0);
    expect(() => parseCpuPlacement(`contender=${allowedCpus()[0]}`)).not.toThrow();
  });

  it('wraps a command in taskset only when placed, and writes the command line a user would type', () => {
    expect(pinned(undefined, 'socat', ['-u'])).toEqual(['socat', ['-u']]);
    expect(pinned('1', 'socat', ['-u'])).toEqual(['taskset', ['--cpu-list', '1', 'socat', '-u']]);
    expect(commandLine('ns1', '0-1', 'socat', ['-u', 'A', 'B'])).toBe('ip netns exec ns1 taskset --cpu-list 0-1 socat -u A B');
  });
});
