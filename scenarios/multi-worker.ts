// multi-worker: 1..N workers for each fanout mode, plus 'none' as the negative control.
// With fanout no packet may arrive twice; without it every worker forwards every packet.
import { checkAtLeast, checkAtMost, type Check } from '../harness/src/checks.js';
import type { StepResult } from '../harness/src/result.js';
import type { Scenario, StepPlan } from './scenario.js';

export const WORKER_FANOUTS = ['hash', 'cpu', 'lb', 'none'] as const;

export const multiWorker: Scenario = {
  name: 'multi-worker',
  summary: "workers 1..N for fanout hash, cpu, lb and 'none' (negative control); duplication and per-worker share",
  argName: 'workers',
  plan(n, options): StepPlan[] {
    const plans: StepPlan[] = [];
    for (let workers = 1; workers <= n; workers++) {
      WORKER_FANOUTS.forEach((fanout, i) => {
        // socat and kernel do not have workers: run them once per worker count, beside the first mode.
        const contenders = options.contenders.filter((c) => c === 'relay' || i === 0);
        plans.push({ step: `${fanout}/${workers}`, streams: options.streams, workers, fanout, contenders, params: { workers, fanout, streams: options.streams } });
      });
    }
    return plans;
  },
  checks(steps: StepResult[]): Check[] {
    const checks: Check[] = [];
    for (const step of steps) {
      for (const r of step.runs) {
        if (r.contender !== 'relay' || !r.aggregate) continue;
        const workers = Number(r.params.workers);
        const where = { scenario: 'multi-worker', step: step.step, contender: `relay/${String(r.params.fanout)}` };
        const ratio = Math.round(r.aggregate.duplicationRatio * 1000) / 1000;
        if (r.params.fanout !== 'none') {
          checks.push(checkAtMost({ name: 'no duplicates with fanout', ...where, metric: 'duplicates', value: r.aggregate.duplicates }, 0));
        } else if (workers >= 2) {
          // Each extra worker should add about one copy; half of that proves the control works.
          checks.push(checkAtLeast({ name: 'negative control duplicates', ...where, metric: 'duplication ratio', value: ratio }, (workers - 1) * 0.5));
        }
      }
    }
    return checks;
  },
};
