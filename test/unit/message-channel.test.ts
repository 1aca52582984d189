// A size-bounded channel to a child process (relay/src/message-channel.ts), over the socketpair a
// child gets as an extra stdio fd: how workers.ts could talk to its workers instead of Node's IPC,
// whose reader buffers a message without limit.
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, MessageChannel } from '../../relay/src/message-channel.js';

// The child: echoes each line it reads on fd 3 back, and on "flood" sends a line past the limit
// (in 1 MiB pieces, the newline last) between two good messages.
const CHILD = `
const net = require('node:net');
const s = new net.Socket({ fd: 3, readable: true, writable: true });
let buf = '';
s.on('data', async (d) => {
  buf += d;
  for (let i; (i = buf.indexOf('\\n')) >= 0; ) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    if (JSON.parse(line).type !== 'flood') { s.write(line + '\\n'); continue; }
    s.write('{"type":"before"}\\n');
    const piece = 'x'.repeat(1 << 20);
    for (let sent = 0; sent <= ${MAX_MESSAGE_BYTES}; sent += piece.length) if (!s.write(piece)) await new Promise((r) => s.once('drain', r));
    s.write('\\n{"type":"after"}\\n');
  }
});`;

describe('MessageChannel', () => {
  it('carries messages both ways, and discards one past the limit (LineSplitter drops its bytes as they come); the next arrives', async () => {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    const got: unknown[] = [];
    const refused: string[] = [];
    const after = new Promise<void>((resolve) => {
      const channel = new MessageChannel<{ type: string }, { type: string }>(child.stdio[3] as Duplex, {
        message: (m) => {
          got.push(m);
          if (m.type === 'after') resolve();
        },
        refused: (why) => refused.push(why),
      });
      channel.send({ type: 'hello' });
      channel.send({ type: 'flood' });
    });
    await after;
    child.kill();
    expect(got).toEqual([{ type: 'hello' }, { type: 'before' }, { type: 'after' }]);
    expect(refused).toEqual([`message longer than ${MAX_MESSAGE_BYTES} bytes, discarded`]);
  });

  it('refuses to send a message past the limit, sending nothing', () => {
    const written: string[] = [];
    const stream = { on: () => undefined, write: (s: string) => written.push(s) } as unknown as Duplex;
    const channel = new MessageChannel<{ big: string }, never>(stream, { message: () => undefined, refused: () => undefined });
    expect(() => channel.send({ big: 'x'.repeat(MAX_MESSAGE_BYTES) })).toThrow(`message longer than ${MAX_MESSAGE_BYTES} bytes, not sent`);
    expect(written).toEqual([]);
  });
});
