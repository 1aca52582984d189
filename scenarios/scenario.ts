// What a scenario is: a plan of steps from one size argument, and the checks over the results.
import type { Check } from '../harness/src/checks.js';
import type { ContenderName } from '../harness/src/contenders/types.js';
import type { StepResult } from '../harness/src/result.js';

export interface ScenarioOptions {
  ratePps: number;
  count: number;
  size: number;
  workers: number;
  fanout: string;
  ingress: 'ring' | 'mmsg';
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
}

export interface Scenario {
  name: string;
  summary: string;
  /** What the positional size argument means. */
  argName: string;
  plan(n: number, options: ScenarioOptions): StepPlan[];
  checks(steps: StepResult[], options: ScenarioOptions): Check[];
}
