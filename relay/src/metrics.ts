// mcrd --metrics-listen HOST:PORT: GET /metrics in the Prometheus text format, from a registry
// of its own (metric-families.ts) plus prom-client's process metrics for mcrd itself.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
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

/**
 * Connections served at once; more are answered 503 and closed. Prometheus keeps one per target,
 * so this leaves room for a few servers and people with curl while bounding what a flood costs.
 */
export const MAX_CONNECTIONS = 32;
/**
 * A connection must bring a whole request head within this of opening, or of its previous answer
 * (so an idle kept-alive one is closed after it too): slow or silent clients hold no slot for long.
 * Enforced here, per connection: http.Server's own requestTimeout is checked only by a server that
 * listens itself, and this one is handed its connections.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

const REFUSED = 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ';
const refusal = (why: string) => `${REFUSED}${Buffer.byteLength(why)}\r\n\r\n${why}`;

/** Loopback: 127.0.0.0/8, ::1, ::ffff:127.x, localhost. Anything else can be reached from elsewhere. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\./.test(h);
}

/** "127.0.0.1:9108", "[::1]:9108". */
const formatAddress = ({ host, port }: ListenAddress) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export class MetricsServer {
  private readonly registry = new Registry();
  private readonly http = createServer((req, res) => void this.answer(req, res));
  /** Each open connection's deadline for its next request head. */
  private readonly deadlines = new WeakMap<net.Socket, NodeJS.Timeout>();
  /** Accepts connections up to MAX_CONNECTIONS and hands them to the HTTP server; refuses the rest with a 503. */
  private readonly server = net.createServer((socket) => this.accept(socket));
  private open = 0;
  /** The stats of the scrape under way, shared by every family of it. */
  private snapshot: Promise<RelayStats> | undefined;
  /** The text being gathered: scrapes that arrive meanwhile take it too (one stats round trip for all). */
  private gathering: Promise<Buffer> | undefined;
  private readonly gathers: Counter;
  private readonly refused: Counter;

  constructor(
    private readonly address: ListenAddress,
    stats: () => Promise<RelayStats>,
    private readonly log: Logger,
  ) {
    registerRelayMetrics(this.registry, () => this.snapshot ?? (this.snapshot = stats()));
    this.gathers = new Counter({ name: 'mcr_metrics_gathers_total', help: 'Stats round trips to the workers made for scrapes; scrapes that arrive while one is gathered share it.', registers: [this.registry] });
    this.refused = new Counter({ name: 'mcr_metrics_refused_connections_total', help: `Connections answered 503 because ${MAX_CONNECTIONS} were open.`, registers: [this.registry] });
    // process_* (CPU, RSS, fds) and nodejs_* of mcrd itself (not of its workers): what a leak in
    // the supervisor would show. They are read at scrape time, except the event-loop delay
    // monitor, a timer: at prom-client's default 10 ms it cost an idle mcrd ~5 ms of CPU a
    // second (measured), at 1 s ~0.15 ms.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
    this.http.on('clientError', (err, socket) => socket.destroy(err));
  }

  private accept(socket: net.Socket): void {
    if (this.open >= MAX_CONNECTIONS) {
      this.refused.inc();
      socket.on('error', () => undefined);
      socket.end(refusal(`too many connections (${MAX_CONNECTIONS} open); try again\n`));
      socket.setTimeout(1000, () => socket.destroy());
      return;
    }
    this.open++;
    this.awaitRequest(socket);
    socket.once('close', () => {
      this.open--;
      clearTimeout(this.deadlines.get(socket));
    });
    this.http.emit('connection', socket);
  }

  private awaitRequest(socket: net.Socket): void {
    clearTimeout(this.deadlines.get(socket));
    this.deadlines.set(socket, setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS).unref());
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
        this.log.info(`metrics on http://${where}/metrics`, { maxConnections: MAX_CONNECTIONS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
        if (!isLoopback(this.address.host)) {
          this.log.warn(`metrics served on ${where}, not a loopback address: plain HTTP without authentication, so whoever reaches it reads every rule's name, groups and counters; bind 127.0.0.1 or a management address`);
        }
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.http.closeAllConnections(); // a scraper's kept-alive connection must not hold up shutdown
    await closed;
  }

  /** The metrics text; one stats request to the workers per gathering, shared by every family and every scrape that arrives meanwhile. */
  render(): Promise<Buffer> {
    if (this.gathering) return this.gathering;
    this.gathers.inc();
    // Encoded once: every scrape sharing it writes the same bytes (not one UTF-8 copy each).
    const gathering = this.registry.metrics().then((text) => Buffer.from(text)).finally(() => {
      this.snapshot = undefined;
      this.gathering = undefined;
    });
    this.gathering = gathering;
    return gathering;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    clearTimeout(this.deadlines.get(socket));
    res.once('finish', () => !socket.destroyed && this.awaitRequest(socket));
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

  private reply(res: ServerResponse, status: number, body: string | Buffer): void {
    res.statusCode = status;
    if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(body);
  }
}
