// Control socket client: many requests over one connection, matched to replies by id.
import net from 'node:net';
import { LineSplitter, type Response } from './protocol.js';

export class ControlError extends Error {}

export class ControlClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private closedError: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    const splitter = new LineSplitter(
      (line) => this.receive(line),
      () => this.fail(new ControlError('reply line too long')),
    );
    socket.on('data', (chunk: string) => splitter.push(chunk));
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
      return;
    }
    const waiter = typeof reply.id === 'number' ? this.waiting.get(reply.id) : undefined;
    if (!waiter) return;
    this.waiting.delete(reply.id as number);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new ControlError(reply.error));
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
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(JSON.stringify({ ...args, id, cmd }) + '\n');
    });
  }

  /** Sends a raw line as is (for tests of the server's error handling). */
  sendRaw(line: string): void {
    this.socket.write(line.endsWith('\n') ? line : line + '\n');
  }

  close(): void {
    this.socket.end();
  }
}
