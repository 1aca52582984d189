// Names that reach logs and `mcrctl list` carry no terminal control sequences (issue 21, item 3):
// interface and rule names with control characters are refused, and the error shows them escaped.
import { describe, expect, it } from 'vitest';
import { RuleTable, validateRuleSpec } from '../../relay/src/rules.js';

const good = { inputInterface: 'eth0', inputGroup: '239.1.1.1', inputPort: 5000, outputs: [{ group: '239.2.2.2', port: 5001, interface: 'eth1' }] };
const any = () => true; // waitForInterface-like: only the name's form is checked
const ESC = '\u001b';

describe('names with control characters', () => {
  it.each([
    ['an input interface with an escape sequence', { ...good, inputInterface: `e${ESC}[2Jx` }],
    ['an output interface with a bell', { ...good, outputs: [{ ...good.outputs[0], interface: 'eth1\u0007' }] }],
    ['an input interface with DEL', { ...good, inputInterface: 'eth\u007f' }],
    ['an input interface with a C1 control', { ...good, inputInterface: 'eth\u009b1' }],
    ['a rule name with an escape sequence', { ...good, name: `cam${ESC}]0;x` }],
  ])('%s is refused', (_, spec) => {
    let message = '';
    try {
      validateRuleSpec(spec, any);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not a valid interface name|must be 1-64 characters/);
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/); // the error itself is safe to print
  });

  it('an interface name is at most 15 bytes (IFNAMSIZ - 1), not 15 characters', () => {
    expect(() => validateRuleSpec({ ...good, inputInterface: 'éééééééé' }, any)).toThrow(/not a valid interface name/); // 8 characters, 16 bytes
    expect(validateRuleSpec({ ...good, inputInterface: 'éééééééx' }, any).inputInterface).toBe('éééééééx'); // 15 bytes
  });

  it('a remove by a name or id with control characters is answered without them', () => {
    expect(() => new RuleTable().find({ name: `x${ESC}[31m` })).toThrow("no rule named 'x\\u001b[31m'");
    expect(() => new RuleTable().find({ id: `1${ESC}` })).toThrow("no rule with id '1\\u001b'");
  });
});
