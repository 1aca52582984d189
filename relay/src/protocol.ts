// Control protocol: newline-delimited JSON over a Unix stream socket.
// Request:  {"id": <any JSON scalar>, "cmd": "<command>", ...arguments}
// Response: {"id": <same>, "ok": true, "result": {...}} | {"id": <same>, "ok": false, "error": "<message>"}
// Replies come in request order; the error for a line mcrd could not read as a request has id null.

export const COMMANDS = ['ping', 'version', 'add', 'remove', 'apply', 'list', 'stats', 'workers', 'set-workers'] as const;

export type RequestId = string | number | null;

export interface Request {
  id: RequestId;
  cmd: string;
  [arg: string]: unknown;
}

export type Response =
  | { id: RequestId; ok: true; result: unknown }
  | { id: RequestId; ok: false; error: string };

/**
 * Longest line either side takes (request or reply), so a peer cannot make the other buffer without
 * bound. 64 MiB is 15 times the longest line at 10,000 rules (stats with 2 workers, 4.3 MB; an
 * apply of them is 1.6 MB); lines grow linearly with the rules (stats also with the workers), so
 * 100,000 rules on 2 workers would fit. A longer request or reply is an error naming this limit.
 */
export const MAX_LINE_BYTES = 64 << 20;

export const DEFAULT_SOCKET_PATH = '/run/mcrd.sock';

/** The error for a request or reply line (of `bytes` bytes, when known) over MAX_LINE_BYTES. */
export const overLimit = (what: 'request' | 'reply', bytes?: number) =>
  `${what} line ${bytes === undefined ? '' : `(${bytes} bytes) `}longer than the control protocol's limit of ${MAX_LINE_BYTES} bytes (${MAX_LINE_BYTES >> 20} MiB)`;

/** A request or reply as its line (without the newline); throws overLimit's error when it is too long to send. */
export function encodeLine(what: 'request' | 'reply', message: unknown): string {
  let bytes: number | undefined;
  try {
    const line = JSON.stringify(message);
    bytes = Buffer.byteLength(line);
    if (bytes <= MAX_LINE_BYTES) return line;
  } catch (err) {
    // Longer than a string can be (RangeError: ~512 MiB), far past the limit; anything else is a bug.
    if (!(err instanceof RangeError)) throw err;
  }
  throw new Error(overLimit(what, bytes));
}

/**
 * Splits a byte stream into lines. Calls onLine for each complete line and onOverflow when a line
 * grows past MAX_LINE_BYTES (the rest of that line is then discarded). Counts bytes, not UTF-16
 * units, and touches each byte once: a line of many chunks is not searched again with each chunk.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(private readonly onLine: (line: string) => void, private readonly onOverflow: () => void) {}

  push(chunk: Buffer | string): void {
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let newline: number;
    while ((newline = data.indexOf(10)) !== -1) {
      this.take(data.subarray(0, newline));
      if (!this.discarding) {
        const line = (this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size)).toString('utf8');
        if (line.trim() !== '') this.onLine(line);
      }
      this.parts = [];
      this.size = 0;
      this.discarding = false;
      data = data.subarray(newline + 1);
    }
    this.take(data);
  }

  private take(piece: Buffer): void {
    if (this.discarding || piece.length === 0) return;
    this.size += piece.length;
    if (this.size <= MAX_LINE_BYTES) {
      this.parts.push(piece);
      return;
    }
    this.discarding = true;
    this.parts = [];
    this.onOverflow();
  }
}
