// Runs mcr-gen inside a namespace and returns its summary.
import { nsSpawn } from '../../netns/exec.js';
import { GEN_BIN } from './binaries.js';

export interface GenStreamSummary {
  stream: number;
  group: string;
  port: number;
  /** Measured packets the kernel accepted (warm-up and injected duplicate copies excluded). */
  sent: number;
  /** Measured sequence numbers used: sent, failed to send, or skipped by a fault. */
  sequenced: number;
  errors: Record<string, number>;
  errorCount: number;
  firstSendNs: number;
  lastSendNs: number;
  rate: number;
}

export interface GenSummary {
  runId: number;
  size: number;
  warmup: number;
  streams: GenStreamSummary[];
  totalSent: number;
  elapsedSec: number;
  interrupted: boolean;
  faults: { dup: number; swap: number; corrupt: number; skip: number };
}

export interface GenOptions {
  interface: string;
  /** "G:P" per stream; stream ids are positions from 1. */
  streams: string[];
  /** Per-stream packets/s (0 = as fast as possible). */
  rate: number;
  count: number;
  size: number;
  runId: number;
  ttl?: number;
  warmup?: number;
  batch?: number;
  fault?: string;
  /** Where to write the streams file when the list is long. */
  streamsFile?: string;
}

export function generatorArgs(o: GenOptions): string[] {
  const args = ['--interface', o.interface, '--rate', String(o.rate), '--count', String(o.count), '--size', String(o.size), '--run-id', String(o.runId)];
  args.push(...(o.streamsFile ? ['--streams-file', o.streamsFile] : ['--streams', o.streams.join(',')]));
  if (o.ttl !== undefined) args.push('--ttl', String(o.ttl));
  if (o.warmup) args.push('--warmup', String(o.warmup));
  if (o.batch) args.push('--batch', String(o.batch));
  if (o.fault) args.push('--fault', o.fault);
  return args;
}

export async function runGenerator(ns: string, options: GenOptions): Promise<GenSummary> {
  const result = await nsSpawn(ns, GEN_BIN, generatorArgs(options), { reject: false });
  const line = String(result.stdout).trim().split('\n').pop() ?? '';
  if (result.exitCode !== 0 || !line.startsWith('{')) {
    throw new Error(`mcr-gen failed (exit ${result.exitCode ?? result.signal}): ${String(result.stderr).trim() || line}`);
  }
  return JSON.parse(line) as GenSummary;
}
