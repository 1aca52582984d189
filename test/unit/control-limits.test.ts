// The control socket's bounds (issue 21, item 3): a connection cap, idle connections giving way
// when it is reached, a request line that must be finished in time.
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../relay/src/control-client.js';
import { ControlServer } from '../../relay/src/control-server.js';
import { createLogger } from '../../relay/src/log.js';

const lines: string[] = [];
const log = createLogger('text', 'debug', (line) => (lines.push(line), true));
let server: ControlServer | undefined;
const clients: ControlClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
  lines.length = 0;
});

async function serve(limits: ConstructorParameters<typeof ControlServer>[4]): Promise<string> {
  const socket = path.join(mkdtempSync(path.join(os.tmpdir(), 'mcr-ctl-')), 'c.sock');
  server = new ControlServer(socket, async (cmd) => (cmd === 'ping' ? { pong: true } : {}), log, {}, limits);
  await server.listen();
  return socket;
}
const connect = async (socket: string) => {
  const c = await ControlClient.connect(socket);
  clients.push(c);
  return c;
};
/** What mcrd says to a raw connection until it closes it (or `ms` pass). */
function heard(socket: string, send = '', ms = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const s = net.connect(socket, () => s.write(send));
    const timer = setTimeout(() => (s.destroy(), resolve({ text, closed: false })), ms);
    s.on('data', (d) => (text += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => (clearTimeout(timer), resolve({ text, closed: true })));
  });
}

describe('control socket limits', () => {
  it('a connection beyond the cap is told why and closed; those within keep working', async () => {
    const socket = await serve({ maxConnections: 3 });
    const open = [await connect(socket), await connect(socket), await connect(socket)];
    for (const c of open) await c.request('ping');
    const fourth = await heard(socket);
    expect(fourth.closed).toBe(true);
    expect(JSON.parse(fourth.text.trim())).toEqual({ id: null, ok: false, error: 'too many control connections (3 open, the limit); try again later' });
    for (const c of open) await expect(c.request('ping')).resolves.toEqual({ pong: true });
    expect(lines.join('')).toMatch(/control connection refused: 3 open/);
  });

  it('at the cap, the connection idle longest beyond the idle time gives way to a new one', async () => {
    const socket = await serve({ maxConnections: 2, idleMs: 200 });
    const oldest = await connect(socket);
    await oldest.request('ping');
    await sleep(100);
    const busy = await connect(socket);
    await sleep(150); // oldest idle 250 ms, busy 150 ms
    const newcomer = await connect(socket);
    await expect(newcomer.request('ping')).resolves.toEqual({ pong: true });
    await expect(oldest.request('ping')).rejects.toThrow(/closed|ended/);
    await expect(busy.request('ping')).resolves.toEqual({ pong: true });
  });

  it('idle connections stay while there is room (a long-lived client is not cut off)', async () => {
    const socket = await serve({ maxConnections: 4, idleMs: 50 });
    const c = await connect(socket);
    await sleep(300);
    await expect(c.request('ping')).resolves.toEqual({ pong: true });
  });

  it('a request line begun must be finished within the line time, or the connection is closed', async () => {
    const socket = await serve({ lineMs: 200 });
    const r = await heard(socket, '{"id":1,"cmd":"pi');
    expect(r.closed).toBe(true);
    expect(JSON.parse(r.text.trim())).toEqual({ id: null, ok: false, error: 'request line not finished within 0.2 s; connection closed' });
  });
});
