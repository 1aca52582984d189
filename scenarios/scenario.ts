// What a scenario is: a plan of steps from one size argument, and the checks over the results.
import type { Check } from '../harness/src/checks.js';
import type { ContenderName } from '../harness/src/contenders/types.js';
import type { StepResult } from '../harness/src/result.js';
import type { IngressMode } from '../relay/src/native.js';

export interface ScenarioOptions {
  ratePps: number;
  count: number;
  size: number;
  workers: number;
  fanout: string;
  ingress: IngressMode;
  streams: number;
  contenders: ContenderName[];
  repetitions: number;
  maxLossPct: number;
  warmup: number;
  bridge: boolean;
  egressLimit?: string;
}

export interface StepPlan {
  step: string;
  streams: number;
  workers: number;
  fanout: string;
  contenders: ContenderName[];
  params: Record<string, unknown>;
  /** Per-stream rate and measured packets for this step, when the scenario sets them. */
  ratePps?: number;
  count?: number;
}

export interface Scenario {
  name: string;
  summary: string;
  /** What the positional size argument means. */
  argName: string;
  /** ceilingPps: the instrument's calibrated zero-loss rate (0 when calibration failed). */
  plan(n: number, options: ScenarioOptions, ceilingPps: number): StepPlan[];
  checks(steps: StepResult[], options: ScenarioOptions): Check[];
}
