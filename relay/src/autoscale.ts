// Scaling by load (--workers MIN..MAX): once a second mcrd reads each interface's workers' CPU
// (from /proc) and the frames the kernel dropped at their rings, and decides with decide():
//  - up one worker when the ring dropped frames (the workers fell behind: act at once), or when
//    the busiest worker used on average at least `up` of a core (--scale-up-cpu, default UP_CPU)
//    over the last UP_AFTER seconds;
//  - down one when the interface's whole load, averaged over the last DOWN_AFTER seconds without
//    a drop, would leave each of one worker fewer below `down` = DOWN_RATIO x `up` of a core.
// Averages, not every second in a row: on a shared machine one noisy second would otherwise
// restart the count, and a lightly loaded interface would never give a worker back.
//  - never within COOL_DOWN_MS of the last change (the new set's load takes a second to show),
//    never beyond MIN..MAX.
// Hysteresis: after a step up from n workers busy at `up` each, n + 1 still carry n/(n+1) x up
// >= up/2 each, more than `down` (DOWN_RATIO < 1/2); after a step down each carries less than
// `down` < `up`. So a steady load never flaps. One log line per decision gives its reason.
import { readFileSync } from 'node:fs';
import type { Logger } from './log.js';
import type { WorkerPool } from './workers.js';

export const INTERVAL_MS = 1000;
export const UP_CPU = 0.75;
export const UP_AFTER = 2;
/** Below one half (see the hysteresis above); 0.35 of a core at the default 0.75. */
export const DOWN_RATIO = 7 / 15;
export const DOWN_AFTER = 10;
export const COOL_DOWN_MS = 5000;
/** /proc/<pid>/stat counts CPU time in USER_HZ ticks, 100 per second in Linux's ABI. */
const TICKS_PER_SECOND = 100;

export interface WorkerRange {
  min: number;
  max: number;
}

export interface ScalePolicy extends WorkerRange {
  /** CPU of a core that makes a worker busy (--scale-up-cpu). */
  upCpu: number;
}

/** One interval of one interface. */
export interface LoadSample {
  workers: number;
  /** CPU of each worker over the interval, in cores (1 = one core all the time). */
  cpu: number[];
  /** Frames the kernel dropped at the workers' rings over the interval. */
  drops: number;
}

export interface ScaleState {
  /** The busiest worker's CPU, and the interface's total, of the latest intervals since the last change (newest last). */
  busiest: number[];
  totals: number[];
  lastChangeMs: number;
}

export const initialState = (): ScaleState => ({ busiest: [], totals: [], lastChangeMs: -Infinity });

/** The mean of the last n values, or undefined until there are n. */
function meanOfLast(values: number[], n: number): number | undefined {
  return values.length < n ? undefined : values.slice(-n).reduce((a, b) => a + b, 0) / n;
}

const pct = (cores: number) => `${Math.round(cores * 100)}%`;

/** The rule above: the worker count to set and why, or undefined to keep it. Updates state. */
export function decide(range: WorkerRange, state: ScaleState, sample: LoadSample, nowMs: number, upCpu = UP_CPU): { workers: number; reason: string } | undefined {
  const downCpu = DOWN_RATIO * upCpu;
  const n = sample.workers;
  if (n < range.min) return { workers: range.min, reason: `below the minimum of ${range.min}` };
  if (n > range.max) return { workers: range.max, reason: `above the maximum of ${range.max}` };
  state.busiest = [...state.busiest, Math.max(0, ...sample.cpu)].slice(-DOWN_AFTER);
  // A drop ends any idle stretch: the window of totals starts again.
  state.totals = sample.drops > 0 ? [] : [...state.totals, sample.cpu.reduce((a, b) => a + b, 0)].slice(-DOWN_AFTER);
  if (nowMs - state.lastChangeMs < COOL_DOWN_MS) return undefined;
  const busy = meanOfLast(state.busiest, UP_AFTER);
  const load = meanOfLast(state.totals, DOWN_AFTER);
  let decision: { workers: number; reason: string } | undefined;
  if (n < range.max && sample.drops > 0) decision = { workers: n + 1, reason: `the kernel dropped ${sample.drops} frames at the rings in the last interval` };
  else if (n < range.max && busy !== undefined && busy >= upCpu) decision = { workers: n + 1, reason: `the busiest worker used ${pct(busy)} of a core (at least ${pct(upCpu)}) over ${UP_AFTER} s` };
  else if (n > range.min && load !== undefined && load / (n - 1) < downCpu) decision = { workers: n - 1, reason: `${n - 1} workers would each use ${pct(load / (n - 1))} of a core (below ${pct(downCpu)}) over ${DOWN_AFTER} s` };
  if (decision) {
    state.lastChangeMs = nowMs;
    state.busiest = [];
    state.totals = [];
  }
  return decision;
}

/** utime + stime of a process, in seconds; undefined when it is gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // fields 14 and 15 of proc(5)
  } catch {
    return undefined;
  }
}

/** Applies decide() to every interface with workers, once per INTERVAL_MS. */
export class AutoScaler {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly states = new Map<string, ScaleState>();
  /** Per interface, per worker pid: CPU seconds and kernel drops at the last reading. */
  private readonly last = new Map<string, Map<number, { cpu: number; drops: number; atMs: number }>>();

  constructor(
    private readonly pool: WorkerPool,
    private readonly policy: ScalePolicy,
    private readonly log: Logger,
    private readonly setWorkers: (iface: string, count: number, reason: string) => Promise<unknown>,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.busy) return; // a scaling step still under way: this interval is not a steady one
    this.busy = true;
    try {
      for (const iface of this.pool.interfacesRunning()) await this.tickInterface(iface);
    } catch (err) {
      this.log.error(`autoscale: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private async tickInterface(iface: string): Promise<void> {
    const loads = await this.pool.loads(iface);
    const now = performance.now();
    const cpu: number[] = [];
    let drops = 0;
    let complete = loads.length === this.pool.workersFor(iface);
    const last = this.last.get(iface);
    const next = new Map<number, { cpu: number; drops: number; atMs: number }>();
    this.last.set(iface, next);
    for (const { pid, load } of loads) {
      const seconds = cpuSeconds(pid);
      const before = last?.get(pid);
      if (seconds === undefined) continue;
      next.set(pid, { cpu: seconds, drops: load.kernelDrops, atMs: now });
      if (!before) {
        complete = false; // a new worker: its first interval starts now
        continue;
      }
      cpu.push((seconds - before.cpu) / ((now - before.atMs) / 1000));
      drops += load.kernelDrops - before.drops;
    }
    if (!complete) return;
    let state = this.states.get(iface);
    if (!state) this.states.set(iface, (state = initialState()));
    const decision = decide(this.policy, state, { workers: loads.length, cpu, drops }, now, this.policy.upCpu);
    if (decision) await this.setWorkers(iface, decision.workers, decision.reason);
  }
}
