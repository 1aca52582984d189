import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../relay/src/control-server.js';
import { LineSplitter, MAX_LINE_BYTES } from '../../relay/src/protocol.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS, loadConfigFile, resolveConfig } from '../../relay/src/config.js';

describe('line splitter', () => {
  it('reassembles lines split across chunks and skips blank lines', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), () => lines.push('OVERFLOW'));
    s.push('{"a":1}\n{"b"');
    s.push(':2}\n\n{"c":3');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    s.push('}\n');
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('reports an over-long line once, drops it and recovers at the next newline', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), () => lines.push('OVERFLOW'));
    s.push('x'.repeat(MAX_LINE_BYTES + 1));
    s.push('more junk');
    s.push('\n{"ok":1}\n');
    expect(lines).toEqual(['OVERFLOW', '{"ok":1}']);
  });

  it('refuses an over-long line that arrives whole in one chunk', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), () => lines.push('OVERFLOW'));
    s.push(`${'x'.repeat(MAX_LINE_BYTES + 1)}\n{"ok":1}\n`);
    expect(lines).toEqual(['OVERFLOW', '{"ok":1}']);
  });
});

describe('request parsing', () => {
  it.each([
    ['{nope', /malformed JSON/],
    ['[1,2]', /must be a JSON object/],
    ['42', /must be a JSON object/],
    ['{"id":{},"cmd":"ping"}', /request id must be/],
    ['{"id":7}', /no 'cmd'/],
  ])('rejects %s', (line, message) => {
    const parsed = parseRequest(line);
    expect('reply' in parsed && !parsed.reply.ok && parsed.reply.error).toMatch(message);
  });

  it('keeps the id of a request that has one', () => {
    const parsed = parseRequest('{"id":7}');
    expect('reply' in parsed && parsed.reply.id).toBe(7);
    expect(parseRequest('{"id":"a","cmd":"ping","x":1}')).toEqual({ request: { id: 'a', cmd: 'ping', x: 1 } });
  });
});

describe('daemon config', () => {
  it('layers defaults, file and flags', () => {
    const c = resolveConfig({ workers: 3, fanout: 'lb' }, { workers: 2, fanout: undefined });
    expect(c).toEqual({ ...DEFAULTS, workers: 2, fanout: 'lb' });
  });

  it.each([
    [{ workers: 0 }, /workers must be an integer/],
    [{ fanout: 'random' as never }, /fanout must be one of/],
    [{ statsInterval: -1 }, /stats interval/],
    [{ igmp: 'no' as never }, /igmp must be true or false/],
  ])('rejects %j', (flags, message) => {
    expect(() => resolveConfig({}, flags)).toThrow(message);
  });

  it('joins groups by default; igmp: false (mcrd --no-igmp) turns it off, from the file or the flag', () => {
    expect(resolveConfig({}, {}).igmp).toBe(true);
    expect(resolveConfig({ igmp: false }, { igmp: undefined }).igmp).toBe(false);
    expect(resolveConfig({}, { igmp: false }).igmp).toBe(false);
  });

  it('reads a JSON5 file (comments, trailing commas) and names unknown settings', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-config-'));
    const good = path.join(dir, 'good.json5');
    writeFileSync(good, "{ // relay\n workers: 3, fanout: 'lb', interfaces: ['eth0',], }");
    expect(resolveConfig(loadConfigFile(good), {})).toMatchObject({ workers: 3, fanout: 'lb', interfaces: ['eth0'] });
    const bad = path.join(dir, 'bad.json5');
    writeFileSync(bad, '{ wrokers: 2 }');
    expect(() => loadConfigFile(bad)).toThrow(/unknown setting 'wrokers'/);
    writeFileSync(bad, '{ workers: ');
    expect(() => loadConfigFile(bad)).toThrow(/config .*bad.json5: /);
  });
});
