// Runs mcr-gen inside a namespace and returns its summary.
import { nsSpawn } from '../../netns/spawn.js';
import { pinned } from './placement.js';
import { GEN_BIN } from './binaries.js';

export interface GenStreamSummary {
  stream: number;
  group: string;
  port: number;
  /** Measured packets the kernel accepted (warm-up and injected duplicate copies excluded). */
  sent: number;
  /** Measured sequence numbers used: sent, failed to send, or skipped by a fault. */
  sequenced: number;
  /** Measured packets the kernel refused, by errno name (e.g. ENOBUFS). */
  errors: Record<string, number>;
  errorCount: number;
  /** Warm-up packets accepted / refused (not in sent, errors or sequenced). */
  warmupSent: number;
  warmupErrors: number;
  /** CLOCK_MONOTONIC ns of the first and last accepted packet (warm-up included). */
  firstSendNs: number;
  lastSendNs: number;
  /** Achieved packets/s of this stream (first to last send). */
  rate: number;
  /**
   * CLOCK_MONOTONIC ns of the first and last measured packet the kernel accepted (warm-up and
   * injected duplicate copies excluded; 0 when none): the window that `sent` covers.
   */
  measuredFirstSendNs: number;
  measuredLastSendNs: number;
}

export interface GenSummary {
  runId: number;
  size: number;
  warmup: number;
  streams: GenStreamSummary[];
  totalSent: number;
  elapsedSec: number;
  /** Stopped early by SIGINT/SIGTERM (after completing the current round). */
  interrupted: boolean;
  /** Injected faults the kernel accepted (skip: sequence numbers left out). */
  faults: { dup: number; swap: number; corrupt: number; skip: number };
  /** Sender threads used (--threads, capped at the number of streams). */
  threads: number;
  /** The CPUs it ran on (its Cpus_allowed_list). */
  cpus?: string;
  /** Earliest measuredFirstSendNs over the streams (0s ignored; 0 when nothing measured was sent). */
  measuredFirstSendNs: number;
  /** Latest measuredLastSendNs over the streams. */
  measuredLastSendNs: number;
  /**
   * measuredLastSendNs - measuredFirstSendNs in seconds (0 with fewer than 2 measured packets):
   * delivered / measuredSeconds is the offered rate when nothing is lost.
   */
  measuredSeconds: number;
}

export type Fault = `${'dup' | 'swap' | 'reorder' | 'corrupt' | 'skip'}:${number}`;

export interface GenOptions {
  interface: string;
  /** "G:P" per stream, IPv6 as "[G]:P" (endpoint); one family per run; stream ids are positions from 1. */
  streams: string[];
  /** Per-stream packets/s (0 = as fast as possible; mcr-gen's default 1000). */
  rate?: number;
  /** Total packets/s over all streams (instead of rate). */
  aggregateRate?: number;
  /** Measured packets per stream (mcr-gen's default 1000). */
  count?: number;
  /** Seconds to send instead of count. */
  duration?: number;
  /** Total rates in steps instead of rate and count: ratePps over all streams for seconds, then the next. */
  profile?: RateStep[];
  /** UDP payload bytes, 40..1472 (mcr-gen's default 512). */
  size?: number;
  runId: number;
  ttl?: number;
  /** IP TOS byte (DSCP << 2 | ECN); IPv6: the traffic class. ttl is the hop limit there. */
  tos?: number;
  /** Local source address to send from (of the streams' family). */
  source?: string;
  /** Packets per stream sent first, flagged warm-up (the sink excludes them). */
  warmup?: number;
  batch?: number;
  fault?: Fault | string;
  /**
   * Sender threads, 1..16 (mcr-gen's default 1; capped at the number of streams): stream s (from 0)
   * goes to thread s % threads, each with its own socket and paced share of the rate.
   */
  threads?: number;
  /** A file holding the streams, one G:P per line (written by the caller), instead of --streams. */
  streamsFile?: string;
  /** Frames built by mcr-gen on an AF_PACKET socket (--packet): no neighbour entry per group on the host. */
  packet?: boolean;
  /** CPUs it runs on (taskset; --cpus generator=...). */
  cpus?: string;
  /** Aborting stops the generator early (SIGTERM); it still reports what it sent. */
  signal?: AbortSignal;
}

/**
 * Whether a datagram of `size` payload bytes fits one frame on a link of `mtu`: then the harness
 * sends it with --packet, so the instrument adds no neighbour entry per group to the host's one
 * table (at thousands of groups that would cost every sender on the host, the contenders included);
 * bigger ones go through the IP stack, which fragments them.
 */
export function fitsOneFrame(size: number, mtu: number, family: 4 | 6): boolean {
  return size + 8 + (family === 6 ? 40 : 20) <= mtu;
}

export interface RateStep {
  seconds: number;
  ratePps: number;
}

/** Packets per stream a profile sends (as mcr-gen rounds it). */
export const profileCount = (profile: RateStep[], streams: number) => Math.max(1, Math.round(profile.reduce((n, s) => n + s.seconds * s.ratePps, 0) / streams));
export const profileSeconds = (profile: RateStep[]) => profile.reduce((t, s) => t + s.seconds, 0);

export function generatorArgs(o: GenOptions): string[] {
  const args = ['--interface', o.interface, '--run-id', String(o.runId)];
  if (o.profile) args.push('--profile', o.profile.map((s) => `${s.seconds}:${s.ratePps}`).join(','));
  else if (o.aggregateRate !== undefined) args.push('--aggregate-rate', String(o.aggregateRate));
  else if (o.rate !== undefined) args.push('--rate', String(o.rate));
  // A profile sets the count itself.
  if (!o.profile && o.duration !== undefined) args.push('--duration', String(o.duration));
  else if (!o.profile && o.count !== undefined) args.push('--count', String(o.count));
  if (o.size !== undefined) args.push('--size', String(o.size));
  args.push(...(o.streamsFile ? ['--streams-file', o.streamsFile] : ['--streams', o.streams.join(',')]));
  if (o.ttl !== undefined) args.push('--ttl', String(o.ttl));
  if (o.tos !== undefined) args.push('--tos', String(o.tos));
  if (o.source !== undefined) args.push('--source', o.source);
  if (o.warmup) args.push('--warmup', String(o.warmup));
  if (o.batch) args.push('--batch', String(o.batch));
  if (o.fault) args.push('--fault', o.fault);
  if (o.threads !== undefined && o.threads > 1) args.push('--threads', String(o.threads));
  if (o.packet) args.push('--packet');
  return args;
}

export async function runGenerator(ns: string, options: GenOptions): Promise<GenSummary> {
  const result = await nsSpawn(ns, ...pinned(options.cpus, GEN_BIN, generatorArgs(options)), { reject: false, cancelSignal: options.signal });
  const line = String(result.stdout).trim().split('\n').pop() ?? '';
  if (result.exitCode !== 0 || !line.startsWith('{')) {
    throw new Error(`mcr-gen failed (exit ${result.exitCode ?? result.signal}): ${String(result.stderr).trim() || line}`);
  }
  return JSON.parse(line) as GenSummary;
}
