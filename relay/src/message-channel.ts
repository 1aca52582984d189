// Messages between mcrd and a worker with a size bound (issue 21, item 3), used by workers.ts and
// worker.ts instead of Node's IPC channel: that one keeps reading a message until its newline with
// no limit, so a worker (it parses packets from the network) could make mcrd buffer without bound.
// Here each message is one line of JSON on a stream (a socket pair the worker gets as fd 3), read
// by protocol.ts's LineSplitter: a line longer than MAX_LINE_BYTES is discarded as it arrives,
// never held, and reported.
import type { Duplex } from 'node:stream';
import { LineSplitter, MAX_LINE_BYTES, encodeLine } from './protocol.js';

/** The most a message may take either way, in bytes: the control protocol's line limit. */
export const MAX_MESSAGE_BYTES = MAX_LINE_BYTES;

export interface ChannelEvents<In> {
  message(message: In): void;
  /** A message was longer than MAX_MESSAGE_BYTES (discarded) or not JSON: the peer misbehaves. */
  refused(why: string): void;
}

export class MessageChannel<Out, In> {
  constructor(private readonly stream: Duplex, events: ChannelEvents<In>) {
    const splitter = new LineSplitter(
      (line) => {
        let message: In;
        try {
          message = JSON.parse(line) as In;
        } catch (err) {
          events.refused(`message is not JSON: ${(err as Error).message}`);
          return;
        }
        events.message(message);
      },
      () => events.refused(`message longer than ${MAX_MESSAGE_BYTES} bytes, discarded`),
    );
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
  }

  /** Sends one message; throws (sending nothing) when it is longer than MAX_MESSAGE_BYTES. */
  send(message: Out): void {
    let line: string;
    try {
      line = encodeLine('request', message);
    } catch {
      throw new Error(`message longer than ${MAX_MESSAGE_BYTES} bytes, not sent`);
    }
    this.stream.write(line + '\n');
  }

  close(): void {
    this.stream.end();
  }
}
