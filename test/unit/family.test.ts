// IPv6 in the plan and the gate, without privileges: the groups a step sends, how streams are
// written for mcr-gen/mcr-sink, and that a run is never compared with a baseline of the other family.
import { describe, expect, it } from 'vitest';
import { baselineFromResult, evaluateGates, loadGateFile, parameterDifferences } from '../../harness/src/gate.js';
import { familyOf, planStreams } from '../../harness/src/streams.js';
import { endpoint } from '../../relay/src/rules.js';
import { sampleResult } from './sample-result.js';

describe('IPv6 stream plan', () => {
  it('plans ff15::1:<n> in and ff15::2:<n> out on the IPv4 port, groups without brackets', () => {
    expect(planStreams(2, 6)).toEqual([
      { stream: 1, inGroup: 'ff15::1:1', inPort: 5000, outGroup: 'ff15::2:1', outPort: 5000 },
      { stream: 2, inGroup: 'ff15::1:2', inPort: 5000, outGroup: 'ff15::2:2', outPort: 5000 },
    ]);
    // Hex, in the form the kernel prints (bridge mdb, ip6_mr_cache), so they compare as strings.
    expect(planStreams(1000, 6)[999].inGroup).toBe('ff15::1:3e8');
    expect(new Set(planStreams(1000, 6).map((p) => p.outGroup)).size).toBe(1000);
    expect(planStreams(1)[0].inGroup).toBe('239.1.0.1');
  });

  it('writes IPv6 streams in brackets for the CLIs, IPv4 as before', () => {
    expect(endpoint('ff15::1:1', 5000)).toBe('[ff15::1:1]:5000');
    expect(endpoint('239.1.0.1', 5000)).toBe('239.1.0.1:5000');
    expect([familyOf('ff15::1:1'), familyOf('239.1.0.1')]).toEqual([6, 4]);
  });
});

describe('the regression gate and the family', () => {
  it('takes a baseline without a family for IPv4, and refuses to compare an IPv6 run with it', () => {
    const old = { n: 2, ratePps: 1000 };
    expect(parameterDifferences(old, { ...old, family: 4 })).toEqual([]);
    expect(parameterDifferences(old, { ...old, family: 6 })).toEqual(['family: 4 → 6']);
    const v4 = sampleResult();
    const baseline = baselineFromResult(v4);
    const v6 = { ...sampleResult(), parameters: { ...v4.parameters, family: 6 } };
    const refused = evaluateGates(v6, loadGateFile(), baseline).filter((c) => !c.pass);
    expect(refused.map((c) => c.metric)).toEqual([expect.stringContaining('family: 4 → 6')]);
  });
});
