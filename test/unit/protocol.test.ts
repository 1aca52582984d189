import { describe, expect, it } from 'vitest';
import { ControlServer, parseRequest } from '../../relay/src/control-server.js';
import { ControlClient } from '../../relay/src/control-client.js';
import { createLogger } from '../../relay/src/log.js';
import { LineSplitter, MAX_LINE_BYTES } from '../../relay/src/protocol.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
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

  it('counts bytes, not characters, and joins a character split across chunks', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), () => lines.push('OVERFLOW'));
    s.push(`${'é'.repeat(MAX_LINE_BYTES / 2 + 1)}\n`); // 2 bytes each
    const bytes = Buffer.from('"né"\n');
    s.push(bytes.subarray(0, 3)); // '"n' and the first byte of 'é'
    s.push(bytes.subarray(3));
    expect(lines).toEqual(['OVERFLOW', '"né"']);
  });
});

describe('lines over the limit, both ways', () => {
  const socketPath = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'mcr-protocol-')), 'c.sock');
  const quiet = createLogger('text', 'error', () => true);

  it('a reply or a request too long is an error naming the limit, and the connection goes on', async () => {
    const big = 'x'.repeat(MAX_LINE_BYTES);
    const where = socketPath();
    const server = new ControlServer(where, async (cmd, args) => (cmd === 'big' ? { big } : { echo: args }), quiet);
    await server.listen();
    const client = await ControlClient.connect(where);
    try {
      await expect(client.request('big')).rejects.toThrow(/^reply line \(\d+ bytes\) longer than the control protocol's limit of 67108864 bytes \(64 MiB\)$/);
      await expect(client.request('echo', { big })).rejects.toThrow(/^request line \(\d+ bytes\) longer than the control protocol's limit of 67108864 bytes \(64 MiB\)$/);
      expect(await client.request('echo', { n: 1 })).toEqual({ echo: { n: 1 } });
    } finally {
      client.close();
      await server.close();
    }
  });

  it('a reply the client cannot read, or one without an id, settles the request it answers, in order', async () => {
    // An mcrd of the 1 MiB limit answered an apply of 10,000 rules with the first reply (no id to go
    // by): the client dropped it and waited forever. The third is a reply over the limit.
    const replies = ['{"id":null,"ok":false,"error":"request line longer than 1048576 bytes"}', '{"id":2,"ok":true,"result":2}', `"${'x'.repeat(MAX_LINE_BYTES)}"`, '{"id":4,"ok":true,"result":4}'];
    const where = socketPath();
    const server = net.createServer((s) => {
      let n = 0;
      s.on('data', (chunk) => {
        for (const _ of chunk.toString().matchAll(/\n/g)) s.write(`${replies[n++]}\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(where, resolve));
    const client = await ControlClient.connect(where);
    try {
      const settled = await Promise.allSettled(['apply', 'ping', 'stats', 'ping'].map((cmd) => client.request(cmd)));
      expect(settled).toMatchObject([
        { status: 'rejected', reason: { message: 'request line longer than 1048576 bytes' } },
        { status: 'fulfilled', value: 2 },
        { status: 'rejected', reason: { message: "reply line longer than the control protocol's limit of 67108864 bytes (64 MiB)" } },
        { status: 'fulfilled', value: 4 },
      ]);
    } finally {
      client.close();
      server.close();
    }
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
    [{ workers: 0 }, /workers must be a count from 1 to 256/],
    [{ workers: '3..1' }, /or MIN\.\.MAX with MIN <= MAX to scale by load \(got 3\.\.1\)/],
    [{ scaleUpCpu: 2 }, /scale-up CPU must be a fraction of a core from 0.05 to 1/],
    [{ interfaces: ['eth\u001b0'] }, /interfaces must be a list of interface names/],
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
