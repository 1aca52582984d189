// /metrics scrapes that arrive while one is gathered share it (issue 21, item 3): one stats round
// trip to the workers however many scrapes wait, where each used to queue one of its own.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../relay/src/log.js';
import { MAX_CONNECTIONS, MetricsServer, REQUEST_TIMEOUT_MS, isLoopback } from '../../relay/src/metrics.js';
import type { RelayStats } from '../../relay/src/metric-families.js';

const EMPTY = { workers: [], rules: [], igmp: { attempted: 0, succeeded: 0, failed: 0, leaves: 0, activeGroups: 0, helperSockets: 0, joining: 0, failedGroups: 0, leaving: 0, enabled: true }, totals: {}, dropped: {}, scaling: [] } as unknown as RelayStats;

describe('MetricsServer', () => {
  it('50 scrapes during one gathering share it: one stats request, one text', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const stats = () => {
      calls++;
      return new Promise<RelayStats>((resolve) => (release = () => resolve(EMPTY)));
    };
    const server = new MetricsServer({ host: '127.0.0.1', port: 1 }, stats, createLogger('text', 'error', () => true));
    const scrapes = Array.from({ length: 50 }, () => server.render());
    await new Promise((r) => setTimeout(r, 20));
    release();
    const texts = await Promise.all(scrapes);
    expect(calls).toBe(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0].toString()).toMatch(/^mcr_metrics_gathers_total 1$/m);
    // The next scrape, after it, gathers anew.
    const next = server.render();
    await new Promise((r) => setTimeout(r, 20));
    release();
    await next;
    expect(calls).toBe(2);
  });

  it.each([
    ['127.0.0.1', true], ['127.1.2.3', true], ['::1', true], ['localhost', true], ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false], ['::', false], ['10.0.0.1', false], ['192.168.1.1', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });

  it('a connection gets 10 s for its request head, and the 33rd of 33 open ones a 503', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = new MetricsServer({ host: '127.0.0.1', port }, async () => EMPTY, createLogger('text', 'error', () => true));
    await server.listen();
    /** Opens a connection, sends `head`, resolves with what came back and when it was closed. */
    const talk = (head: string) =>
      new Promise<{ text: string; ms: number }>((resolve) => {
        const t = Date.now();
        let text = '';
        const s = net.connect(port, '127.0.0.1', () => s.write(head));
        s.on('data', (d) => (text += d.toString()));
        s.on('error', () => undefined);
        s.on('close', () => resolve({ text, ms: Date.now() - t }));
      });
    try {
      const slow = Array.from({ length: MAX_CONNECTIONS }, () => talk('GET /metrics HTTP/1.1\r\nHost: x\r\n'));
      await new Promise((r) => setTimeout(r, 200));
      const over = await talk('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(over.text).toMatch(/^HTTP\/1\.1 503 [\s\S]*too many connections \(32 open\)/);
      for (const r of await Promise.all(slow)) {
        expect(r.text).toBe('');
        expect(r.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 300);
        expect(r.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 3000);
      }
      // Slots free again: a whole request is answered.
      expect((await talk('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).text).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      await server.close();
    }
  }, 30_000);
});
