// Rule changes as mcrd applies them: whole or not at all.
import { describe, expect, it } from 'vitest';
import { addRule, applyBatch, mergeConfigRules } from '../../relay/src/changes.js';
import { RuleTable, diffTables } from '../../relay/src/rules.js';

const exists = (name: string) => ['eth0', 'eth1'].includes(name);
const rule = (i: number, extra: Record<string, unknown> = {}) => ({ name: `r${i}`, inputInterface: 'eth0', inputGroup: `239.1.1.${i}`, inputPort: 5000, outputs: [{ group: '239.2.2.2', port: 5000 + i, interface: 'eth1' }], ...extra });

describe('apply', () => {
  it('adds and removes as one change', () => {
    const t = new RuleTable();
    applyBatch(t, { add: [rule(1), rule(2)] }, exists);
    const r = applyBatch(t, { remove: [{ name: 'r1' }], add: [rule(3)] }, exists);
    expect([r.added.map((x) => x.name), r.removed.map((x) => x.name)]).toEqual([['r3'], ['r1']]);
    expect(t.list().map((x) => x.name)).toEqual(['r2', 'r3']);
  });

  it('a bad item anywhere changes nothing, and says which', () => {
    const t = new RuleTable();
    applyBatch(t, { add: [rule(1)] }, exists);
    expect(() => applyBatch(t, { remove: [{ name: 'r1' }], add: [rule(2), rule(3, { inputPort: 0 })] }, exists)).toThrow(/^apply: add 2: input port: port '0' out of range.*; nothing changed$/);
    expect(() => applyBatch(t, { remove: [{ name: 'nope' }] }, exists)).toThrow(/^apply: remove 1: no rule named 'nope'; nothing changed$/);
    expect(() => applyBatch(t, { add: 'x' }, exists)).toThrow(/must be lists/);
    expect(t.list().map((x) => x.name)).toEqual(['r1']);
    expect(addRule(t, rule(2), exists).id).toBe('2'); // ids were not used up by the refused changes
  });
});

describe('config merge (start-up and SIGHUP)', () => {
  it('keeps unchanged rules with their ids, replaces changed ones, removes dropped ones, leaves runtime rules', () => {
    const t = new RuleTable();
    expect(mergeConfigRules(t, [rule(1), rule(2), rule(3)], exists)).toEqual({ added: 3, removed: 0, changed: 0 });
    addRule(t, rule(9, { name: 'runtime' }), exists);
    const before = t.clone();
    expect(mergeConfigRules(t, [rule(1), { ...rule(2), outputs: [{ group: '239.2.2.2', port: 7000, interface: 'eth1' }] }, rule(4)], exists)).toEqual({ added: 1, removed: 1, changed: 1 });
    expect(t.list().map((x) => [x.name, x.id])).toEqual([['r1', '1'], ['runtime', '4'], ['r2', '5'], ['r4', '6']]);
    // What the workers get: only what changed, per input interface.
    const diff = diffTables(before, t).get('eth0')!;
    expect([diff.remove.sort(), diff.upsert.map((x) => x.name)]).toEqual([['2', '3'], ['r2', 'r4']]);
  });

  it('a bad config rule, or one clashing with a runtime rule, changes nothing', () => {
    const t = new RuleTable();
    mergeConfigRules(t, [rule(1)], exists);
    addRule(t, rule(2, { name: 'runtime' }), exists);
    expect(() => mergeConfigRules(t, [rule(5), rule(6, { inputGroup: '10.0.0.1' })], exists)).toThrow(/^config rule 2: input group: 10\.0\.0\.1 is not a multicast group/);
    expect(() => mergeConfigRules(t, [rule(2)], exists)).toThrow(/config rule 239\.1\.1\.2:5000 on eth0: duplicate rule/);
    expect(t.list().map((x) => x.name)).toEqual(['r1', 'runtime']);
  });
});
