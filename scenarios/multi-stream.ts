// multi-stream: N streams at once through each contender, in steps 1, 2, 5, ... up to N.
// The relay must deliver every stream in full however many groups it has to join.
import { countRuns, runPlans, SEARCH_OPTIONS, type Scenario, type ScenarioOptions, type StepPlan } from './scenario.js';

const LADDER = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

export function streamSteps(n: number): number[] {
  return [...new Set([...LADDER.filter((s) => s < n), n])];
}

function plan(n: number, options: ScenarioOptions): StepPlan[] {
  return streamSteps(n).map((streams) => ({
    step: String(streams),
    x: streams,
    streams,
    workers: options.workers,
    fanout: options.fanout,
    contenders: options.contenders,
    params: { streams, workers: options.workers, fanout: options.fanout },
  }));
}

export const multiStream: Scenario = {
  name: 'multi-stream',
  ignores: { streams: 'its streams are N', ...SEARCH_OPTIONS },
  summary: 'N concurrent streams, steps 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000 up to N; relay vs socat vs kernel',
  argName: 'streams',
  defaultSize: 10,
  maxSize: 1000,
  presentation: { xTitle: 'streams', xLog: true, charts: ['loss', 'delivered', 'latency', 'cpu-per-packet', 'attribution'] },
  estimateRuns: (n, options) => countRuns(plan(n, options), options.repetitions),
  run: (n, ctx) => runPlans(plan(n, ctx.options), ctx),
};
