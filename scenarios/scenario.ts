// What a scenario is: how it runs its steps from one size argument, how its results are drawn,
// and any checks of its own. The harness reads these declarations, never scenario names.
import type { Check } from '../harness/src/checks.js';
import type { ContenderName, Impairments } from '../harness/src/contenders/types.js';
import type { FaultPlan } from '../harness/src/faults.js';
import type { ContenderRun, Presentation, SearchResult, StepResult } from '../harness/src/result.js';
import type { LimitSearch } from '../harness/src/limit-search.js';
import type { StepOptions } from '../harness/src/step.js';
import type { RateStep } from '../harness/src/generator.js';
import type { Family, Topology } from '../netns/topology.js';
import type { EgressMode, IngressMode } from '../relay/src/api.js';
import type { CpuPlacement } from '../harness/src/placement.js';

export interface ScenarioOptions {
  ratePps: number;
  /** multi-stream: packets/s over all of a step's streams, instead of ratePps per stream (one aggregate rate for every step). */
  aggregateRatePps?: number;
  /** multi-stream: only these stream counts of the ladder (each at most N). */
  steps?: number[];
  count: number;
  /** UDP payload bytes: the first of `sizes`. */
  size: number;
  /** Payload sizes a scenario that sweeps them runs (throughput); others use `size`. */
  sizes: number[];
  workers: number;
  fanout: string;
  ingress: IngressMode;
  egress: EgressMode;
  streams: number;
  contenders: ContenderName[];
  /** Contenders the gate requires in every step (a skipped or failed one fails it). */
  require: ContenderName[];
  repetitions: number;
  maxLossPct: number;
  warmup: number;
  bridge: boolean;
  /** MTU of every link (default: the kernel's 1500). */
  mtu?: number;
  /** IP TTL and TOS the generator sends with (defaults 8 and 0). */
  ttl?: number;
  tos?: number;
  topology: Topology;
  /** IP version of every stream: 4 (IGMP) or 6 (MLD; groups ff15::1:n in, ff15::2:n out). */
  family: Family;
  /** Generator sender threads. */
  threads: number;
  impairments: Impairments;
  /** Cores for the contender, the generator and the sink (--cpus); absent: wherever the kernel puts them. */
  cpus?: CpuPlacement;
  /** Throughput search: seconds of measured traffic per trial, and the bounds' closeness to stop at. */
  trialSeconds: number;
  resolution: number;
  /** How long a scenario that runs for a time (soak) sends, seconds; undefined: its default. */
  durationSeconds?: number;
}

export interface StepPlan {
  step: string;
  /** Position on the scenario's x axis. */
  x: number;
  streams: number;
  workers: number;
  fanout: string;
  contenders: ContenderName[];
  params: Record<string, unknown>;
  /** Per-stream rate, measured packets and payload size for this step, when the scenario sets them. */
  ratePps?: number;
  count?: number;
  size?: number;
  /** Warm-up packets per stream for this step, when the scenario sets them (default --warmup). */
  warmup?: number;
  /** The relay's series label when the scenario varies it (default: the contender's name). */
  relaySeries?: string;
  /** Set when the relay run of this step is a planned negative control: why it must misbehave. */
  relayControl?: string;
  /** Set when loss is expected by design (a throughput search trial): why the loss gates skip it. */
  exemptFromLoss?: string;
  /** Seconds the sink keeps receiving after the schedule ends; later packets count as lost. */
  drainSeconds?: number;
  /** A fault injected while the traffic flows (faults scenario). */
  fault?: FaultPlan;
  /** Sample the contender's resources and the sink's counts this often (soak). */
  sampleSeconds?: number;
  /** Total rates in steps instead of a constant rate and count (elastic's ramp). */
  profile?: RateStep[];
  /** mcrd flags after the harness's own (the last of a repeated flag wins), e.g. --workers 1..4 (elastic). */
  relayFlags?: string[];
  /** Runs each contender instead of the standard step (join-leave measures its own way); same options. */
  runner?: (o: StepOptions) => Promise<ContenderRun>;
}

export interface ScenarioContext {
  options: ScenarioOptions;
  /** The instrument's calibrated zero-loss aggregate rate at `size` (calibrated once per size; 0 when calibration failed). */
  ceilingFor(size: number): Promise<number>;
  /** Runs one step for each of its contenders; all repetitions, or only the one given. */
  runStep(plan: StepPlan, repetition?: number): Promise<StepResult>;
  /** Throws (naming the limit) when a step asks for more than the instrument can send here. */
  assertOfferable(plan: StepPlan): void;
}

/** Options only throughput's search uses: every other scenario refuses them. */
export const SEARCH_OPTIONS: Record<string, string> = { trialSeconds: 'only throughput searches', resolution: 'only throughput searches' };
/** Options of multi-stream's ladder alone. */
export const LADDER_OPTIONS: Record<string, string> = { aggregateRate: "only multi-stream's steps share one total rate", steps: "only multi-stream's ladder has steps to choose" };

export interface Scenario {
  name: string;
  summary: string;
  /** What the positional size argument means, its default and its largest value. */
  argName: string;
  defaultSize: number;
  maxSize: number;
  /** Packets/s per stream when --rate is not given (default: the CLI's). */
  defaultRatePps?: number;
  presentation: Presentation;
  /** Whether --size may list several payload sizes. */
  sweepsSizes?: boolean;
  /** Whether it sends for a --duration (others refuse the flag). */
  runsForDuration?: boolean;
  /** Command-line options (by attribute name, e.g. trialSeconds) it does not use, with why: given, they are refused (exit 2). */
  ignores?: Record<string, string>;
  /** Streams to calibrate the instrument with (default: one per generator thread). */
  calibrationStreams?(n: number): number;
  /** Units of work for the progress line (contender runs). */
  estimateRuns(n: number, options: ScenarioOptions): number;
  run(n: number, ctx: ScenarioContext): Promise<{ searches?: SearchResult[]; limits?: LimitSearch[] }>;
  /** Checks beyond the gates (e.g. that a negative control misbehaved as planned). */
  checks?(steps: StepResult[], options: ScenarioOptions): Check[];
}

/** Runs a fixed list of steps in order, after checking that the instrument can offer every one. */
export async function runPlans(plans: StepPlan[], ctx: ScenarioContext): Promise<{ searches?: SearchResult[] }> {
  for (const plan of plans) ctx.assertOfferable(plan);
  for (const plan of plans) await ctx.runStep(plan);
  return {};
}

/** Contender runs of a fixed plan, for the progress line. */
export function countRuns(plans: StepPlan[], repetitions: number): number {
  return plans.reduce((n, p) => n + p.contenders.length * repetitions, 0);
}
