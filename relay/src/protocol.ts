// Control protocol: newline-delimited JSON over a Unix stream socket.
// Request:  {"id": <any JSON scalar>, "cmd": "<command>", ...arguments}
// Response: {"id": <same>, "ok": true, "result": {...}} | {"id": <same>, "ok": false, "error": "<message>"}

export const COMMANDS = ['ping', 'version', 'add', 'remove', 'apply', 'list', 'stats', 'workers'] as const;

export type RequestId = string | number | null;

export interface Request {
  id: RequestId;
  cmd: string;
  [arg: string]: unknown;
}

export type Response =
  | { id: RequestId; ok: true; result: unknown }
  | { id: RequestId; ok: false; error: string };

/** Longest line accepted, so a peer cannot make us buffer without bound. */
export const MAX_LINE_BYTES = 1 << 20;

export const DEFAULT_SOCKET_PATH = '/run/mcrd.sock';

/**
 * Splits a byte stream into lines. Calls onLine for each complete line and onOverflow when a line
 * grows past MAX_LINE_BYTES (the rest of that line is then discarded).
 */
export class LineSplitter {
  private buffered = '';
  private discarding = false;

  constructor(private readonly onLine: (line: string) => void, private readonly onOverflow: () => void) {}

  push(chunk: string): void {
    let text = this.buffered + chunk;
    this.buffered = '';
    let newline: number;
    while ((newline = text.indexOf('\n')) !== -1) {
      const line = text.slice(0, newline);
      text = text.slice(newline + 1);
      if (this.discarding) this.discarding = false;
      else if (line.length > MAX_LINE_BYTES) this.onOverflow(); // arrived whole in one chunk: still too long
      else if (line.trim() !== '') this.onLine(line);
    }
    if (this.discarding) return;
    if (text.length > MAX_LINE_BYTES) {
      this.discarding = true;
      this.onOverflow();
      return;
    }
    this.buffered = text;
  }
}
