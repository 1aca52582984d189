import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAddon, type NativeRule } from '../../relay/src/native.js';
import { loadTestAddon, testAddonPath } from '../../relay/src/test-addon.js';
import { RuleTable, ValidationError, isMulticast, parseOutputSpec, validateRuleSpec } from '../../relay/src/rules.js';

const exists = (name: string) => ['eth0', 'eth1'].includes(name);
const good = { inputInterface: 'eth0', inputGroup: '239.1.1.1', inputPort: 5000, outputs: [{ group: '239.2.2.2', port: 5001, interface: 'eth1' }] };
const reject = (spec: unknown, message: RegExp) => expect(() => validateRuleSpec(spec, exists)).toThrow(message);

describe('rule validation', () => {
  it('accepts a good rule and fills the default TTL', () => {
    expect(validateRuleSpec(good, exists).outputs[0].ttl).toBe(8);
  });

  it('accepts ports and TTLs typed as strings (from the command line)', () => {
    const rule = validateRuleSpec({ ...good, inputPort: '5000', outputs: [{ ...parseOutputSpec('239.2.2.2:6000:eth1:3') }] }, exists);
    expect(rule.inputPort).toBe(5000);
    expect(rule.outputs[0]).toEqual({ group: '239.2.2.2', port: 6000, interface: 'eth1', ttl: 3 });
  });

  it('a source-specific rule and an any-source rule for one group are different inputs', () => {
    const table = new RuleTable();
    table.commit(table.prepare(validateRuleSpec(good, exists)));
    const ssm = validateRuleSpec({ ...good, inputSource: '10.0.0.1' }, exists);
    expect(ssm.inputSource).toBe('10.0.0.1');
    table.commit(table.prepare(ssm));
    expect(() => table.prepare(ssm)).toThrow(/duplicate rule: 239\.1\.1\.1:5000 from 10\.0\.0\.1 on eth0/);
  });

  it('normalises addresses so duplicates are seen', () => {
    expect(validateRuleSpec({ ...good, inputGroup: '239.001.1.1' }, exists).inputGroup).toBe('239.1.1.1');
  });

  it.each([
    [{ ...good, inputGroup: '10.0.0.1' }, /not a multicast group/],
    [{ ...good, inputGroup: '239.1.1' }, /not an IPv4 or IPv6 address/],
    [{ ...good, inputGroup: '239.1.1.256' }, /not an IPv4 or IPv6 address/],
    [{ ...good, inputPort: 0 }, /out of range/],
    [{ ...good, inputPort: 70000 }, /out of range/],
    [{ ...good, inputPort: 1.5 }, /out of range/],
    [{ ...good, inputInterface: 'nope0' }, /unknown interface 'nope0'/],
    [{ ...good, inputInterface: 'a/b' }, /not a valid interface name/],
    [{ ...good, outputs: [] }, /no outputs/],
    [{ ...good, outputs: undefined }, /no outputs/],
    [{ ...good, outputs: [{ group: '239.1.1.1', port: 5000, interface: 'eth0' }] }, /loops back to the input/],
    [{ ...good, outputs: [good.outputs[0], good.outputs[0]] }, /listed twice/],
    [{ ...good, outputs: [{ ...good.outputs[0], ttl: 0 }] }, /ttl/],
    [{ ...good, outputs: [{ ...good.outputs[0], interface: 'eth9' }] }, /output 1 interface: unknown interface 'eth9'/],
    [{ ...good, extra: 1 }, /unknown rule field 'extra'/],
    [{ ...good, inputSource: '239.1.1.9' }, /input source: 239\.1\.1\.9 is not a unicast address/],
    [{ ...good, inputSource: 'host' }, /input source: 'host' is not an IPv4 or IPv6 address/],
    [{ ...good, outputs: [{ ...good.outputs[0], dscp: 64 }] }, /dscp '64' out of range/],
    [{ ...good, outputs: [{ ...good.outputs[0], fixedTtl: 'yes' }] }, /fixedTtl must be true or false/],
    [{ ...good, outputs: [{ ...good.outputs[0], colour: 'red' }] }, /output 1: unknown field 'colour'/],
    [{ ...good, name: 'has space' }, /name/],
    ['not an object', /must be an object/],
    [null, /must be an object/],
  ])('rejects %j', (spec, message) => reject(spec, message));

  it('takes IPv6 groups and sources, normalised, and either family on either side', () => {
    const v6 = validateRuleSpec({ ...good, inputGroup: 'FF15:0::0001', inputSource: 'FD00:0::1', outputs: [{ group: 'ff15::0008', port: 6003, interface: 'eth1' }, good.outputs[0]] }, exists);
    expect(v6).toMatchObject({ inputGroup: 'ff15::1', inputSource: 'fd00::1', outputs: [{ group: 'ff15::8' }, { group: '239.2.2.2' }] });
    const table = new RuleTable();
    table.commit(table.prepare(v6));
    expect(() => table.prepare(validateRuleSpec({ ...good, inputGroup: 'ff15::1', inputSource: 'fd00:0:0::1' }, exists))).toThrow(/duplicate rule: \[ff15::1\]:5000 from fd00::1 on eth0/);
    expect(validateRuleSpec({ ...good, outputs: [{ group: 'ff02::1:3', port: 6000, interface: 'eth1' }] }, exists).outputs[0].group).toBe('ff02::1:3');
  });

  it.each([
    [{ ...good, inputGroup: 'fd00::1' }, /input group: fd00::1 is not a multicast group \(224\.0\.0\.0\/4 or ff00::\/8\)/],
    [{ ...good, inputGroup: 'ff15::1::2' }, /not an IPv4 or IPv6 address/],
    [{ ...good, inputGroup: 'ff15::1', inputSource: '10.0.0.1' }, /input source 10\.0\.0\.1 is IPv4 but the group ff15::1 is not/],
    [{ ...good, inputGroup: 'ff15::1', inputSource: '::' }, /not a unicast address/],
    [{ ...good, inputGroup: 'ff15::1', inputSource: 'ff15::2' }, /not a unicast address/],
    [{ ...good, inputGroup: 'ff15::1', outputs: [{ group: 'ff15::1', port: 5000, interface: 'eth0' }] }, /output 1 \[ff15::1\]:5000:eth0 loops back to the input/],
  ])('rejects IPv6 %j', (spec, message) => reject(spec, message));

  it('parses [IPv6]:port:if outputs', () => {
    expect(parseOutputSpec('[ff15::8]:6003:eth1')).toEqual({ group: 'ff15::8', port: '6003', interface: 'eth1' });
    expect(parseOutputSpec('[ff15::8]:6003:eth1:=3')).toEqual({ group: 'ff15::8', port: '6003', interface: 'eth1', ttl: '3', fixedTtl: true });
    expect(() => parseOutputSpec('ff15::8:6003:eth1')).toThrow(/\[ff15::8\]:6003:eth1/);
    expect(() => parseOutputSpec('[ff15::8]:6003')).toThrow(/must look like/);
  });

  it('errors are ValidationErrors', () => {
    expect(() => validateRuleSpec({}, exists)).toThrow(ValidationError);
  });

  it('parses output specs and rejects malformed ones', () => {
    expect(parseOutputSpec('239.2.2.2:5001:eth1')).toEqual({ group: '239.2.2.2', port: '5001', interface: 'eth1' });
    expect(parseOutputSpec('239.2.2.2:5001:eth1:=16')).toEqual({ group: '239.2.2.2', port: '5001', interface: 'eth1', ttl: '16', fixedTtl: true });
    expect(() => parseOutputSpec('239.2.2.2:5001')).toThrow(/GROUP:PORT:INTERFACE/);
    expect(() => parseOutputSpec('239.2.2.2::eth1')).toThrow(/GROUP:PORT:INTERFACE/);
  });

  it('knows the multicast range', () => {
    expect(isMulticast('224.0.0.0')).toBe(true);
    expect(isMulticast('239.255.255.255')).toBe(true);
    expect(isMulticast('240.0.0.0')).toBe(false);
    expect(isMulticast('223.255.255.255')).toBe(false);
  });
});

describe('rule table', () => {
  it('rejects a duplicate input and a duplicate name, finds by id and name', () => {
    const table = new RuleTable();
    const spec = { ...validateRuleSpec(good, exists), name: 'cam1' };
    const rule = table.prepare(spec);
    table.commit(rule);
    expect(() => table.prepare(spec)).toThrow(/duplicate rule: 239.1.1.1:5000 on eth0 is already handled by rule 1/);
    expect(() => table.prepare({ ...spec, inputPort: 6000 })).toThrow(/duplicate rule name 'cam1'/);
    expect(table.find({ name: 'cam1' }).id).toBe(rule.id);
    expect(table.find({ id: 1 }).id).toBe('1');
    expect(() => table.find({ id: '42' })).toThrow(/no rule with id '42'/);
    expect(() => table.find({})).toThrow(/needs an id or a name/);
    table.delete(rule.id);
    expect(table.list()).toEqual([]);
    expect(table.prepare(spec).id).toBe('2');
  });
});

// The native rule table (relay/native/rules.cc) through RuleLookup: IPv6 inputs in maps of their
// own, outputs of either family whatever the input's, errors with the rule and field.
const built = existsSync(testAddonPath);
// Egress sockets on lo need CAP_NET_RAW (SO_BINDTODEVICE); an absent interface gets none.
const outIf = process.getuid?.() === 0 ? 'lo' : 'mcr-absent0';

describe.skipIf(!built)('native rule table: IPv6 and mixed families', () => {
  const addon = built ? loadTestAddon() : undefined!;
  const out = (group: string, port = 7000) => ({ group, port, interface: outIf, ttl: 8 });
  const table = (rules: NativeRule[]) => new addon.RuleLookup(rules);
  const refuse = (rules: NativeRule[], message: RegExp) => expect(() => table(rules)).toThrow(message);
  const socketFamily = (f: 4 | 6) => (outIf === 'lo' ? f : 0);

  it('finds an IPv6 any-source rule by group and port, whatever the spelling', () => {
    const t = table([{ id: 'a', group: 'ff15::8', port: 6003, outputs: [out('ff15::9', 7003)] }]);
    expect(t.size).toBe(1);
    const scopeId = outIf === 'lo' ? loadAddon().interfaceIndex('lo') : 0;
    expect(t.find({ group: 'ff15::8', port: 6003 })).toEqual({ id: 'a', outputs: [{ family: 6, group: 'ff15::9', port: 7003, scopeId, socketFamily: socketFamily(6) }] });
    expect(t.find({ group: 'ff15:0:0:0:0:0:0:8', port: 6003 })?.id).toBe('a');
    expect(t.find({ group: 'ff15::8', port: 6003, source: 'fd00::99' })?.id).toBe('a');
    expect(t.find({ group: 'ff15::8', port: 6004 })).toBeNull();
    expect(t.find({ group: 'ff15::9', port: 6003 })).toBeNull();
    expect(t.find({ group: 'ff15::8:0', port: 6003 })).toBeNull();
  });

  it('source-specific IPv6 rules win over any-source ones for their source only', () => {
    const t = table([
      { id: 'any', group: 'ff35::1', port: 5000, outputs: [out('ff15::1')] },
      { id: 's1', group: 'ff35::1', source: 'fd00::1', port: 5000, outputs: [out('ff15::2')] },
      { id: 's2', group: 'ff35::1', source: '2001:db8::1', port: 5000, outputs: [out('ff15::3')] },
      { id: 'only', group: 'ff35::2', source: 'fd00::1', port: 5000, outputs: [out('ff15::4')] },
    ]);
    expect(t.size).toBe(4);
    expect(t.find({ group: 'ff35::1', port: 5000, source: 'fd00::1' })?.id).toBe('s1');
    expect(t.find({ group: 'ff35::1', port: 5000, source: '2001:db8::1' })?.id).toBe('s2');
    expect(t.find({ group: 'ff35::1', port: 5000, source: 'fd00::2' })?.id).toBe('any');
    expect(t.find({ group: 'ff35::1', port: 5000 })?.id).toBe('any');
    expect(t.find({ group: 'ff35::2', port: 5000, source: 'fd00::1' })?.id).toBe('only');
    expect(t.find({ group: 'ff35::2', port: 5000, source: 'fd00::2' })).toBeNull();
  });

  it('mixes families: IPv4 in -> IPv6 out, IPv6 in -> IPv4 out, one egress socket per interface and family', () => {
    const t = table([
      { id: 'v4', group: '239.1.1.1', port: 5000, outputs: [out('239.2.2.2'), out('ff15::2')] },
      { id: 'v6', group: 'ff15::1', port: 5000, outputs: [out('239.2.2.3'), out('ff02::1:3', 7001)] },
      { id: 'v4ssm', group: '232.1.1.1', source: '10.0.0.1', port: 5000, outputs: [out('ff0e::1')] },
    ]);
    expect(t.find({ group: '239.1.1.1', port: 5000 })?.outputs.map((o) => [o.family, o.group, o.socketFamily])).toEqual([
      [4, '239.2.2.2', socketFamily(4)],
      [6, 'ff15::2', socketFamily(6)],
    ]);
    const v6 = t.find({ group: 'ff15::1', port: 5000 })!;
    expect(v6.id).toBe('v6');
    expect(v6.outputs.map((o) => [o.family, o.group, o.socketFamily])).toEqual([
      [4, '239.2.2.3', socketFamily(4)],
      [6, 'ff02::1:3', socketFamily(6)],
    ]);
    // A link-local group's destination carries the interface as its scope id.
    if (outIf === 'lo') expect(v6.outputs[1].scopeId).toBe(loadAddon().interfaceIndex('lo'));
    expect(t.find({ group: '232.1.1.1', port: 5000, source: '10.0.0.1' })?.id).toBe('v4ssm');
    // Same port, different families: different inputs.
    expect(t.find({ group: '239.1.1.1', port: 5000, source: '10.9.9.9' })?.id).toBe('v4');
    // An IPv4 group is not found in the IPv6 maps, nor the other way round.
    expect(t.find({ group: '::ffff:239.1.1.1', port: 5000 })).toBeNull();
  });

  it('refuses bad IPv6 rules with the rule and field', () => {
    const good: NativeRule = { id: 'x', group: 'ff15::8', port: 6003, outputs: [out('ff15::9')] };
    refuse([{ ...good, group: 'fd00::1' }], /^rule x group: fd00::1 is not a multicast group \(ff00::\/8\)$/);
    refuse([{ ...good, group: 'ff15::zz' }], /^rule x group: 'ff15::zz' is not an IPv6 address$/);
    refuse([{ ...good, group: '[ff15::8]' }], /^rule x group: '\[ff15::8\]' is not an IPv6 address$/);
    refuse([{ ...good, group: 'banana' }], /^rule x group: 'banana' is not an IPv4 or IPv6 address$/);
    refuse([{ ...good, source: 'ff15::1' }], /^rule x source: ff15::1 is not a unicast address$/);
    refuse([{ ...good, source: '::' }], /^rule x source: :: is not a unicast address$/);
    refuse([{ ...good, source: '10.0.0.1' }], /^rule x source: 10\.0\.0\.1 is IPv4 but the group is IPv6$/);
    refuse([{ ...good, group: '239.1.1.1', source: 'fd00::1' }], /^rule x source: fd00::1 is IPv6 but the group is IPv4$/);
    refuse([{ ...good, outputs: [out('fd00::9')] }], /^rule x output 1 group: fd00::9 is not a multicast group/);
    refuse([{ ...good, outputs: [out('ff15::9'), out('ff15:::9')] }], /^rule x output 2 group: 'ff15:::9' is not an IPv6 address$/);
    refuse([good, { ...good, id: 'y', group: 'ff15:0::8' }], /^rule y: duplicate input \[ff15:0::8\]:6003$/);
    refuse([{ ...good, source: 'fd00::1' }, { ...good, id: 'y', source: 'fd00:0::1' }], /^rule y: duplicate input fd00:0::1 -> \[ff15::8\]:6003$/);
    // The same group and port from a source and from any source: two inputs.
    expect(table([good, { ...good, id: 'y', source: 'fd00::1' }]).size).toBe(2);
  });
});
