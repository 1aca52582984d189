// Control socket client: many requests over one connection. mcrd answers in request order, so each
// reply settles the oldest request waiting: also the error for a line mcrd could not read, which
// has no id to go by.
import net from 'node:net';
import { LineSplitter, encodeLine, overLimit, type Response } from './protocol.js';

export class ControlError extends Error {}

interface Waiter { resolve(value: unknown): void; reject(err: Error): void }

/** Stands for a raw line's reply, which nobody waits for. */
const IGNORED: Waiter = { resolve: () => undefined, reject: () => undefined };

export class ControlClient {
  /** Requests in the order sent; a Map's first entry is the oldest. */
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private closedError: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    const splitter = new LineSplitter(
      (line) => this.receive(line),
      // Its request fails; the line is skipped and the connection stays usable.
      () => this.settle((waiter) => waiter.reject(new ControlError(overLimit('reply')))),
    );
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (err) => this.fail(new ControlError(`control socket error: ${err.message}`)));
    socket.on('close', () => this.fail(new ControlError('control socket closed by mcrd')));
  }

  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ControlError(`timed out connecting to ${path}`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ' (is mcrd running? see --socket)' : '';
        reject(new ControlError(`cannot connect to ${path}: ${err.message}${hint}`));
      });
    });
  }

  private receive(line: string): void {
    let reply: Response;
    try {
      reply = JSON.parse(line) as Response;
    } catch {
      this.fail(new ControlError(`mcrd sent a line that is not JSON: ${line.slice(0, 100)}`));
      return;
    }
    this.settle((waiter) => (reply.ok ? waiter.resolve(reply.result) : waiter.reject(new ControlError(reply.error))));
  }

  /** Settles the oldest request waiting with the reply just read. */
  private settle(how: (waiter: Waiter) => void): void {
    const oldest = this.waiting.entries().next();
    if (oldest.done) return;
    this.waiting.delete(oldest.value[0]);
    how(oldest.value[1]);
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
  }

  /** Sends one command; resolves with its result or rejects with the server's message. */
  request<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    let line: string;
    try {
      line = encodeLine('request', { ...args, id, cmd });
    } catch (err) {
      return Promise.reject(new ControlError((err as Error).message));
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(line + '\n');
    });
  }

  /** Sends one raw, non-blank line as is (for tests of the server's error handling); its reply is dropped. */
  sendRaw(line: string): void {
    this.waiting.set(this.nextId++, IGNORED);
    this.socket.write(line.endsWith('\n') ? line : line + '\n');
  }

  close(): void {
    this.socket.end();
  }
}
