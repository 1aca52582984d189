// Control socket server: newline-delimited JSON requests, answered in order per connection.
// A bad request gets an error reply and changes nothing; the connection stays usable.
import { chmodSync, chownSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from './log.js';
import { LineSplitter, encodeLine, overLimit, type Request, type RequestId, type Response } from './protocol.js';

/** Who is at the other end of a connection (SO_PEERCRED). */
export interface PeerCredentials { pid: number; uid: number; gid: number }

export type Handler = (cmd: string, args: Record<string, unknown>, peer?: PeerCredentials) => Promise<unknown>;

export interface ControlAccess {
  /** Group allowed to connect besides the owner (socket mode 0660); otherwise 0600. */
  gid?: number;
  /** Reads SO_PEERCRED from a connected socket's fd. */
  peerOf?(fd: number): PeerCredentials;
}

function isRequestId(value: unknown): value is RequestId {
  return value === null || typeof value === 'string' || typeof value === 'number';
}

/** Parses one line into a request, or returns the error reply for it. */
export function parseRequest(line: string): { request: Request } | { reply: Response } {
  const error = (id: RequestId, message: string) => ({ reply: { id, ok: false as const, error: message } });
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return error(null, `malformed JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return error(null, 'request must be a JSON object like {"id":1,"cmd":"ping"}');
  }
  const req = value as Record<string, unknown>;
  const id = req.id ?? null;
  if (!isRequestId(id)) return error(null, 'request id must be a string, a number or null');
  if (typeof req.cmd !== 'string') return error(id, "request has no 'cmd' string");
  return { request: req as Request };
}

/**
 * How many clients the control socket holds, and for how long. A connection beyond maxConnections
 * is told so and closed, unless one has been idle (nothing asked, nothing unanswered, no line
 * begun) for idleMs: that one gives way. An idle connection is never closed while there is room,
 * since clients (the harness, scripts) keep one for a whole run without reconnecting. A request
 * line begun must be finished within lineMs (time mcrd holds the socket unread does not count).
 */
export interface ControlLimits {
  maxConnections?: number;
  idleMs?: number;
  lineMs?: number;
}

export const CONTROL_LIMITS: Required<ControlLimits> = { maxConnections: 64, idleMs: 60_000, lineMs: 30_000 };

interface Connection {
  /** When it last sent a byte or was answered. */
  lastActive: number;
  /** Requests read and not answered, or a line begun. */
  busy(): boolean;
}

/** Requests of one connection being handled at once; beyond it, the rest wait and it is not read. */
const MAX_IN_FLIGHT = 512;
/** Stands in the queue of lines for one too long to take, so its error reply keeps its place. */
const OVERLONG = Symbol('overlong line');

export class ControlServer {
  private readonly server: net.Server;
  private readonly connections = new Map<net.Socket, Connection>();
  private readonly limits: Required<ControlLimits>;
  private lastRefusalLog = 0;

  constructor(private readonly path: string, private readonly handler: Handler, private readonly log: Logger, private readonly access: ControlAccess = {}, limits: ControlLimits = {}) {
    this.limits = { ...CONTROL_LIMITS, ...limits };
    this.server = net.createServer((socket) => this.admit(socket));
  }

  /** Serves the connection if there is room, making room from one idle too long; else says why and closes it. */
  private admit(socket: net.Socket): void {
    const { maxConnections, idleMs } = this.limits;
    if (this.connections.size >= maxConnections) {
      const now = Date.now();
      let idlest: [net.Socket, Connection] | undefined;
      for (const entry of this.connections) if (!entry[1].busy() && (!idlest || entry[1].lastActive < idlest[1].lastActive)) idlest = entry;
      if (idlest && now - idlest[1].lastActive >= idleMs) {
        this.log.info(`control connection closed after ${((now - idlest[1].lastActive) / 1000).toFixed(0)} s idle, to make room (${maxConnections} open, the limit)`);
        this.goodbye(idlest[0], `closed: idle while the control socket was at its limit of ${maxConnections} connections`);
      } else {
        socket.on('error', () => undefined);
        socket.end(JSON.stringify({ id: null, ok: false, error: `too many control connections (${maxConnections} open, the limit); try again later` }) + '\n');
        // A flood of them must not flood the log too: at most one line a second.
        if (now - this.lastRefusalLog >= 1000) {
          this.lastRefusalLog = now;
          this.log.warn(`control connection refused: ${maxConnections} open, the limit`);
        }
        return;
      }
    }
    this.serve(socket);
  }

  /** A last error line (id null) and the end of the connection. */
  private goodbye(socket: net.Socket, error: string): void {
    this.connections.delete(socket);
    if (!socket.destroyed) socket.end(JSON.stringify({ id: null, ok: false, error }) + '\n');
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /** Throws when another mcrd answers on the path; removes a stale socket file a dead one left. */
  async ensureFree(): Promise<void> {
    if (existsSync(this.path)) {
      // A live mcrd answers on it; a dead one left a stale file behind.
      const alive = await new Promise<boolean>((resolve) => {
        const probe = net.connect(this.path, () => {
          probe.destroy();
          resolve(true);
        });
        probe.on('error', () => resolve(false));
      });
      if (alive) throw new Error(`control socket ${this.path} is in use by another mcrd`);
      unlinkSync(this.path);
    }
  }

  async listen(): Promise<void> {
    await this.ensureFree();
    // Created 0600 (umask), so nobody else can connect even for a moment; then opened to the group, if any.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', (err) => reject(new Error(`cannot listen on ${this.path}: ${err.message}`)));
        this.server.listen(this.path, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    let mode = '0600';
    if (this.access.gid !== undefined) {
      // Without CAP_CHOWN (a unit that bounds it away) the socket stays its owner's alone: served, and said.
      try {
        chownSync(this.path, process.getuid?.() ?? 0, this.access.gid);
        chmodSync(this.path, 0o660);
        mode = `0660 gid ${this.access.gid}`;
      } catch (err) {
        this.log.error(`--control-group: the control socket cannot be given to gid ${this.access.gid} (${(err as Error).message}; mcrd needs CAP_CHOWN): it stays 0600, for its owner only`);
      }
    }
    this.log.info(`control socket listening on ${this.path}`, { mode });
  }

  /** SO_PEERCRED of the connection; node keeps the fd on its internal pipe handle. */
  private peerOf(socket: net.Socket): PeerCredentials | undefined {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (!this.access.peerOf || typeof fd !== 'number' || fd < 0) return undefined;
    try {
      return this.access.peerOf(fd);
    } catch (err) {
      this.log.warn(`control connection: ${(err as Error).message}`);
      return undefined;
    }
  }

  private serve(socket: net.Socket): void {
    // A line begun (the last byte read was not a newline): it must end within lineMs.
    let partial = false;
    let lineTimer: NodeJS.Timeout | undefined;
    const conn: Connection = { lastActive: Date.now(), busy: () => inFlight > 0 || waiting.length > 0 || partial };
    this.connections.set(socket, conn);
    const peer = this.peerOf(socket);
    this.log.debug('control connection', { ...peer });
    // Replies go out in request order even when handlers finish out of order.
    let chain: Promise<void> = Promise.resolve();
    // Lines read but not started wait here: at most MAX_IN_FLIGHT requests run at once, and while
    // any wait, or the client does not read its replies, the socket is not read (its requests wait
    // in the kernel). A client cannot make mcrd hold requests and replies without bound, nor slow
    // other clients.
    const waiting: (string | typeof OVERLONG)[] = [];
    let next = 0;
    let inFlight = 0;
    const start = (line: string | typeof OVERLONG) => {
      inFlight++;
      const parsed: ReturnType<typeof parseRequest> = line === OVERLONG ? { reply: { id: null, ok: false, error: overLimit('request') } } : parseRequest(line);
      const pending: Promise<Response> =
        'reply' in parsed
          ? Promise.resolve(parsed.reply)
          : (async () => {
              const { id, cmd, ...args } = parsed.request;
              try {
                return { id, ok: true as const, result: await this.handler(cmd, args, peer) };
              } catch (err) {
                return { id, ok: false as const, error: (err as Error).message };
              }
            })();
      chain = chain.then(() => pending.then(reply));
    };
    const flow = () => {
      while (next < waiting.length && inFlight < MAX_IN_FLIGHT && !socket.writableNeedDrain) start(waiting[next++]);
      if (next === waiting.length) waiting.length = next = 0;
      if (waiting.length || inFlight >= MAX_IN_FLIGHT || socket.writableNeedDrain) socket.pause();
      else socket.resume();
    };
    const lineDue = () => {
      lineTimer = setTimeout(() => {
        // Unread because mcrd paused it (flow control above): not the client's delay.
        if (socket.isPaused()) return lineDue();
        this.log.warn(`control connection closed: request line not finished within ${this.limits.lineMs / 1000} s`, { ...peer });
        this.goodbye(socket, `request line not finished within ${this.limits.lineMs / 1000} s; connection closed`);
      }, this.limits.lineMs);
      lineTimer.unref();
    };
    const reply = (response: Response) => {
      inFlight--;
      conn.lastActive = Date.now();
      if (!socket.destroyed) socket.write(this.serialize(response, peer) + '\n');
      flow();
    };
    socket.on('drain', flow);
    const splitter = new LineSplitter(
      (line) => waiting.push(line),
      () => {
        this.log.warn(`control request refused: ${overLimit('request')}`, { ...peer });
        waiting.push(OVERLONG);
      },
    );
    socket.on('data', (chunk: Buffer) => {
      conn.lastActive = Date.now();
      if (chunk.length) partial = chunk[chunk.length - 1] !== 10;
      if (partial && !lineTimer) lineDue();
      if (!partial && lineTimer) lineTimer = void clearTimeout(lineTimer);
      splitter.push(chunk);
      flow();
    });
    socket.on('error', (err) => this.log.debug(`control connection error: ${err.message}`));
    socket.on('close', () => {
      clearTimeout(lineTimer);
      this.connections.delete(socket);
    });
  }

  /** The reply's line; one the client could not take becomes an error naming the limit. */
  private serialize(response: Response, peer?: PeerCredentials): string {
    try {
      return encodeLine('reply', response);
    } catch (err) {
      this.log.warn(`control reply refused: ${(err as Error).message}`, { ...peer });
      return JSON.stringify({ id: response.id, ok: false, error: (err as Error).message });
    }
  }

  async close(): Promise<void> {
    for (const socket of this.connections.keys()) socket.destroy();
    // Only the path this server listened on is its to remove (a failed start must not unlink another's).
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}
