// Runs mcr-sink inside a namespace: resolves once every group is joined.
import { nsSpawn } from '../../netns/spawn.js';
import { pinned } from './placement.js';
import { SINK_BIN } from './binaries.js';

export interface LatencySummary { p50: number; p90: number; p99: number; p999: number; max: number; mean: number }

export interface SinkStreamSummary {
  stream: number;
  group: string;
  port: number;
  received: number;
  unique: number;
  duplicates: number;
  reordered: number;
  corrupted: number;
  /** Highest sequence number seen (-1: none). */
  maxSeq: number;
  warmup: number;
  /** Packets of this stream that arrived on another stream's socket (cross-talk). */
  misdelivered: number;
  overflowDrops: number;
  /**
   * CLOCK_MONOTONIC ns (the generator's and the harness's clock too) of the stream's first and
   * last packet of the run, warm-up and duplicates included; 0 when none arrived.
   */
  firstArrivalNs: number;
  lastArrivalNs: number;
  /** Runs of missing sequence numbers up to maxSeq, and the longest one, in packets. */
  gaps: number;
  longestGap: number;
  /** IP TTL and TOS of the datagrams received; IPv6: hop limit and traffic class (absent when none arrived). */
  ttl?: { min: number; max: number };
  tos?: { min: number; max: number };
  latencyNs: LatencySummary;
}

export interface SinkSummary {
  runId: number;
  streams: SinkStreamSummary[];
  foreign: number;
  unknownStream: number;
  overflowDrops: number;
  datagrams: number;
  elapsedSec: number;
  /** The p99 per window of send time, all streams together (mcr-sink --latency-window). */
  latencyWindows?: LatencyWindows;
  /** The CPUs it ran on (its Cpus_allowed_list). */
  cpus?: string;
}

export interface LatencyWindows {
  ms: number;
  /** Packets and p99 (ns) per window, from the first. */
  counts: number[];
  p99Ns: number[];
}

export interface SinkOptions {
  interface: string;
  /** "G:P" per stream, IPv6 as "[G]:P" (endpoint); one family per run. */
  streams: string[];
  runId: number;
  /** Stop after this long without packets, once traffic began (mcr-sink's default 2000). */
  idleTimeoutMs?: number;
  /** Stop after this long in any case. */
  maxWaitMs?: number;
  /** Receive buffer per socket (mcr-sink's default 8 MiB). */
  rcvbuf?: number;
  /** A file holding the streams, one G:P per line (written by the caller), instead of --streams. */
  streamsFile?: string;
  /** Report the counts so far every this many ms (to onProgress). */
  progressMs?: number;
  onProgress?(progress: SinkProgress): void;
  /** CPUs it runs on (taskset; --cpus sink=...). */
  cpus?: string;
}

/** Counts so far, all streams together: expected = sum of (highest sequence number seen + 1). */
export interface SinkProgress { t: number; received: number; unique: number; expected: number }

export interface RunningSink {
  /** The mcr-sink process (inside the namespace). */
  pid: number | undefined;
  /** Ends the sink now (SIGTERM) and returns its summary. */
  stop(): Promise<SinkSummary>;
  /** Resolves when the sink stops by itself (idle timeout or max wait). */
  done: Promise<SinkSummary>;
}

export async function startSink(ns: string, o: SinkOptions): Promise<RunningSink> {
  const args = ['--interface', o.interface, '--run-id', String(o.runId)];
  args.push(...(o.streamsFile ? ['--streams-file', o.streamsFile] : ['--streams', o.streams.join(',')]));
  if (o.idleTimeoutMs) args.push('--idle-timeout', String(o.idleTimeoutMs));
  if (o.maxWaitMs) args.push('--max-wait', String(o.maxWaitMs));
  if (o.rcvbuf) args.push('--rcvbuf', String(o.rcvbuf));
  if (o.progressMs) args.push('--progress', String(o.progressMs));
  const child = nsSpawn(ns, ...pinned(o.cpus, SINK_BIN, args), { reject: false, buffer: { stdout: true, stderr: false } });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('PROGRESS ')) o.onProgress?.(JSON.parse(line.slice(9)) as SinkProgress);
        else if (stderr.length < 4096) stderr += line + '\n';
        if (line === 'READY') resolve();
      }
    });
    void child.then((r) => reject(new Error(`mcr-sink exited before it was ready (exit ${r.exitCode ?? r.signal}): ${stderr.trim()}`)));
  });
  const done = child.then((r) => {
    const line = String(r.stdout).trim().split('\n').pop() ?? '';
    if (!line.startsWith('{')) throw new Error(`mcr-sink gave no summary (exit ${r.exitCode ?? r.signal}): ${stderr.trim()}`);
    return JSON.parse(line) as SinkSummary;
  });
  done.catch(() => undefined);
  return {
    pid: child.pid,
    done,
    stop() {
      child.kill('SIGTERM');
      return done;
    },
  };
}
