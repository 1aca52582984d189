// multi-worker: 1..N workers for each fanout mode, plus 'none' as the negative control.
// With fanout no packet may arrive twice; without it every worker forwards every packet.
import { checkAtLeast, type Check } from '../harness/src/checks.js';
import type { StepResult } from '../harness/src/result.js';
import { countRuns, runPlans, LADDER_OPTIONS, SEARCH_OPTIONS, type Scenario, type ScenarioOptions, type StepPlan } from './scenario.js';

export const WORKER_FANOUTS = ['hash', 'cpu', 'lb', 'none'] as const;
const CONTROL = "fanout 'none': every worker sees every packet (the duplication bug, kept as a negative control)";

function plan(n: number, options: ScenarioOptions): StepPlan[] {
  const plans: StepPlan[] = [];
  for (let workers = 1; workers <= n; workers++) {
    WORKER_FANOUTS.forEach((fanout, i) => {
      // socat and kernel do not have workers: run them once per worker count, beside the first mode.
      const contenders = options.contenders.filter((c) => c === 'relay' || i === 0);
      plans.push({
        step: `${fanout}/${workers}`,
        x: workers,
        streams: options.streams,
        workers,
        fanout,
        contenders,
        params: { workers, fanout, streams: options.streams },
        relaySeries: `relay/${fanout}`,
        ...(fanout === 'none' && workers >= 2 ? { relayControl: CONTROL } : {}),
      });
    });
  }
  return plans;
}

export const multiWorker: Scenario = {
  name: 'multi-worker',
  ignores: { workers: 'it runs 1 to N workers (N)', fanout: 'it runs every fanout mode', ...SEARCH_OPTIONS , ...LADDER_OPTIONS },
  summary: "workers 1..N for fanout hash, cpu, lb and 'none' (negative control); duplication and per-worker share",
  argName: 'workers',
  defaultSize: 2,
  maxSize: 16,
  presentation: { xTitle: 'workers', xLog: false, charts: ['duplication', 'worker-share', 'loss', 'cpu-per-packet', 'attribution'] },
  estimateRuns: (n, options) => countRuns(plan(n, options), options.repetitions),
  run: (n, ctx) => runPlans(plan(n, ctx.options), ctx),
  checks(steps: StepResult[]): Check[] {
    // The control must duplicate: each extra worker adds about one copy; half of that proves it.
    return steps.flatMap((step) =>
      step.runs
        .filter((r) => r.control && r.aggregate)
        .map((r) => {
          const workers = Number(r.params.workers);
          const ratio = Math.round(r.aggregate!.duplicationRatio * 1000) / 1000;
          return checkAtLeast({ name: 'negative control duplicates', scenario: 'multi-worker', step: step.step, contender: r.series, metric: 'duplication ratio', value: ratio }, (workers - 1) * 0.5);
        }),
    );
  },
};
