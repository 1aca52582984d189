// multi-stream: N streams at once through each contender, in steps 1, 2, 5, ... up to N.
// The relay must deliver every stream in full however many groups it has to join.
import { checkAtMost, type Check } from '../harness/src/checks.js';
import type { StepResult } from '../harness/src/result.js';
import type { Scenario, StepPlan } from './scenario.js';

const LADDER = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export function streamSteps(n: number): number[] {
  return [...new Set([...LADDER.filter((s) => s < n), n])];
}

export const multiStream: Scenario = {
  name: 'multi-stream',
  summary: 'N concurrent streams, steps 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000 up to N; relay vs socat vs kernel',
  argName: 'streams',
  plan(n, options): StepPlan[] {
    return streamSteps(n).map((streams) => ({
      step: String(streams),
      streams,
      workers: options.workers,
      fanout: options.fanout,
      contenders: options.contenders,
      params: { streams, workers: options.workers, fanout: options.fanout },
    }));
  },
  checks(steps: StepResult[], options): Check[] {
    return steps.flatMap((step) =>
      step.runs
        .filter((r) => r.contender === 'relay' && r.aggregate)
        .flatMap((r) => {
          const a = r.aggregate!;
          const where = { scenario: 'multi-stream', step: step.step, contender: 'relay' };
          return [
            { ...checkAtMost({ name: 'relay loss', ...where, metric: 'loss %', value: Math.round(a.lossPct * 1000) / 1000 }, options.maxLossPct) },
            { ...checkAtMost({ name: 'relay duplication', ...where, metric: 'duplicates', value: a.duplicates }, 0) },
          ];
        }),
    );
  },
};
