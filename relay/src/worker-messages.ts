// Messages between mcrd and its worker processes (Node IPC channel).
import type { EgressMode, FanoutMode, ForwarderStats, IngressMode, NativeRule, WorkerLoad } from './native.js';

export interface WorkerConfig {
  interface: string;
  index: number;
  fanout: FanoutMode;
  fanoutId: number;
  ingress: IngressMode;
  egress: EgressMode;
  ringMiB: number;
}

export type ToWorker =
  | { type: 'rules'; seq: number; rules: NativeRule[] }
  /** Incremental change: the worker keeps the interface's table and applies only this. */
  | { type: 'update'; seq: number; upsert: NativeRule[]; remove: string[] }
  | { type: 'stats'; seq: number }
  | { type: 'load'; seq: number }
  /** Rules are loaded: join the fanout group (the ack carries its id). */
  | { type: 'join'; seq: number }
  /** Scaling (scaling.ts): the group's steering table; stop reading / read again; forward what waits. */
  | { type: 'steer'; seq: number; owners: number[] }
  | { type: 'hold' | 'release' | 'barrier'; seq: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'ack'; seq: number; error?: string; fanoutId?: number }
  | { type: 'stats'; seq: number; stats: ForwarderStats }
  | { type: 'load'; seq: number; load: WorkerLoad }
  | { type: 'fatal'; error: string };
