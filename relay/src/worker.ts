// Worker process: owns one Forwarder (native forwarding thread) for one ingress interface and
// applies what the supervisor sends. Started by mcrd with the config as JSON in argv[2].
import net from 'node:net';
import { MessageChannel } from './message-channel.js';
import { loadAddon, type Forwarder, type NativeRule } from './native.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-messages.js';

/** fd 3: mcrd's end of the socket pair is the only other one (workers.ts boot()). */
const socket = new net.Socket({ fd: 3, readable: true, writable: true });
let onMessage: (message: ToWorker) => void = () => undefined;
const channel = new MessageChannel<FromWorker, ToWorker>(socket, {
  message: (message) => onMessage(message),
  // mcrd sends what it built: a message it could not read means a bug or a wrong peer; say so and go.
  refused: (why) => {
    console.error(`worker: a message from mcrd refused (${why}): exiting`);
    process.exit(1);
  },
});

function send(message: FromWorker): void {
  channel.send(message);
}

/** A batch in hand takes microseconds; a wait in poll ends at once (the forwarder wakes it). */
const HOLD_TIMEOUT_MS = 1000;
/** A full 64 MiB ring (32,768 frames) is forwarded in well under this. */
const BARRIER_TIMEOUT_MS = 2000;

/** Acknowledges a request, with the error it threw if any. */
function answer(seq: number, act: () => void): void {
  try {
    act();
    send({ type: 'ack', seq });
  } catch (err) {
    send({ type: 'ack', seq, error: (err as Error).message });
  }
}

function check(ok: boolean, otherwise: string): void {
  if (!ok) throw new Error(otherwise);
}

function main(): void {
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  let forwarder: Forwarder;
  try {
    const addon = loadAddon();
    forwarder = new addon.Forwarder({ interface: config.interface, fanout: config.fanout, fanoutId: config.fanoutId, ingress: config.ingress, egress: config.egress, ringMiB: config.ringMiB });
    forwarder.start();
  } catch (err) {
    send({ type: 'fatal', error: (err as Error).message });
    process.exitCode = 1;
    channel.close();
    return;
  }

  const shutdown = () => {
    forwarder.stop();
    process.exit(0);
  };
  // The worker's copy of its interface's rules; the native table is rebuilt from it on each change.
  let table = new Map<string, NativeRule>();
  const apply = (seq: number, next: Map<string, NativeRule>) => {
    try {
      forwarder.setRules([...next.values()]);
      table = next;
      send({ type: 'ack', seq });
    } catch (err) {
      send({ type: 'ack', seq, error: (err as Error).message });
    }
  };
  onMessage = (message: ToWorker) => {
    switch (message.type) {
      case 'rules':
        apply(message.seq, new Map(message.rules.map((r) => [r.id, r])));
        break;
      case 'update': {
        const next = new Map(table);
        for (const id of message.remove) next.delete(id);
        for (const rule of message.upsert) next.set(rule.id, rule);
        apply(message.seq, next);
        break;
      }
      case 'stats':
        send({ type: 'stats', seq: message.seq, stats: forwarder.stats() });
        break;
      case 'load':
        send({ type: 'load', seq: message.seq, load: forwarder.load() });
        break;
      case 'join':
        try {
          send({ type: 'ack', seq: message.seq, fanoutId: forwarder.join() });
        } catch (err) {
          send({ type: 'ack', seq: message.seq, error: (err as Error).message });
        }
        break;
      case 'steer':
        answer(message.seq, () => forwarder.steer(message.owners));
        break;
      case 'hold':
        answer(message.seq, () => check(forwarder.hold(HOLD_TIMEOUT_MS), `the forwarding thread did not stop reading within ${HOLD_TIMEOUT_MS} ms`));
        break;
      case 'release':
        answer(message.seq, () => forwarder.release());
        break;
      case 'barrier':
        answer(message.seq, () => check(forwarder.barrier(BARRIER_TIMEOUT_MS), `what waited in the ring was not forwarded within ${BARRIER_TIMEOUT_MS} ms`));
        break;
      case 'stop':
        shutdown();
        break;
    }
  };
  // The supervisor's death closes the channel: never outlive it.
  socket.on('end', shutdown);
  socket.on('close', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', () => {}); // a terminal's ^C reaches the whole group: let mcrd decide.
  send({ type: 'ready' });
}

main();
