// mcrd --metrics-listen HOST:PORT: GET /metrics in the Prometheus text format, from a registry
// of its own (metric-families.ts) plus prom-client's process metrics for mcrd itself.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ListenAddress } from './config.js';
import type { Logger } from './log.js';
import { registerRelayMetrics, type RelayStats } from './metric-families.js';

const WHY: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'no such address on this host',
  EACCES: 'permission denied',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not resolvable now',
};

/** "127.0.0.1:9108", "[::1]:9108". */
const formatAddress = ({ host, port }: ListenAddress) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export class MetricsServer {
  private readonly registry = new Registry();
  private readonly server = createServer((req, res) => void this.answer(req, res));
  /** The stats of the scrape under way; scrapes run one at a time, so each has its own. */
  private snapshot: Promise<RelayStats> | undefined;
  private scrapes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly address: ListenAddress,
    stats: () => Promise<RelayStats>,
    private readonly log: Logger,
  ) {
    registerRelayMetrics(this.registry, () => this.snapshot ?? (this.snapshot = stats()));
    // process_* (CPU, RSS, fds) and nodejs_* of mcrd itself (not of its workers): what a leak in
    // the supervisor would show. They are read at scrape time, except the event-loop delay
    // monitor, a timer: at prom-client's default 10 ms it cost an idle mcrd ~5 ms of CPU a
    // second (measured), at 1 s ~0.15 ms.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
  }

  /** Resolves once listening; rejects with the address and the reason (in use, not on this host, ...). */
  listen(): Promise<void> {
    const where = formatAddress(this.address);
    return new Promise((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => reject(new Error(`--metrics-listen ${where}: ${WHY[err.code ?? ''] ?? err.message} (${err.code ?? 'error'})`));
      this.server.once('error', failed);
      this.server.listen({ host: this.address.host, port: this.address.port }, () => {
        this.server.off('error', failed);
        this.server.on('error', (err) => this.log.error(`metrics server: ${err.message}`));
        this.log.info(`metrics on http://${where}/metrics`);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // a scraper's kept-alive connection must not hold up shutdown
    await closed;
  }

  /** The metrics text; one stats request to the workers per scrape, shared by every family. */
  render(): Promise<string> {
    const scrape = this.scrapes.then(async () => {
      try {
        return await this.registry.metrics();
      } finally {
        this.snapshot = undefined;
      }
    });
    this.scrapes = scrape.catch(() => undefined);
    return scrape;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return this.reply(res, 404, 'not found: metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.reply(res, 405, 'only GET and HEAD\n');
    }
    try {
      const text = await this.render();
      res.setHeader('Content-Type', this.registry.contentType);
      this.reply(res, 200, req.method === 'HEAD' ? '' : text);
    } catch (err) {
      this.log.warn(`metrics scrape failed: ${(err as Error).message}`);
      this.reply(res, 500, `scrape failed: ${(err as Error).message}\n`);
    }
  }

  private reply(res: ServerResponse, status: number, body: string): void {
    res.statusCode = status;
    if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(body);
  }
}
