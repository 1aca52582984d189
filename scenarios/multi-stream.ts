// multi-stream: N streams at once through each contender, in steps 1, 2, 5, ... up to N.
// The relay must deliver every stream in full however many groups it has to join.
import { countRuns, runPlans, SEARCH_OPTIONS, type Scenario, type ScenarioOptions, type StepPlan } from './scenario.js';

const LADDER = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

export function streamSteps(n: number, only?: number[]): number[] {
  if (only) return [...new Set(only.filter((s) => s <= n))].sort((a, b) => a - b);
  return [...new Set([...LADDER.filter((s) => s < n), n])];
}

function plan(n: number, options: ScenarioOptions): StepPlan[] {
  return streamSteps(n, options.steps).map((streams) => ({
    step: String(streams),
    x: streams,
    streams,
    // One total load at every step: the rate and --count (then the step's total) split over its streams.
    ...(options.aggregateRatePps ? { ratePps: options.aggregateRatePps / streams, count: Math.max(1, Math.round(options.count / streams)) } : {}),
    workers: options.workers,
    fanout: options.fanout,
    contenders: options.contenders,
    params: { streams, workers: options.workers, fanout: options.fanout },
  }));
}

export const multiStream: Scenario = {
  name: 'multi-stream',
  ignores: { streams: 'its streams are N', ...SEARCH_OPTIONS },
  summary: `N concurrent streams, steps ${LADDER.join(', ')} up to N (or --steps); relay vs socat vs kernel`,
  argName: 'streams',
  defaultSize: 10,
  maxSize: 10000,
  presentation: { xTitle: 'streams', xLog: true, charts: ['loss', 'delivered', 'latency', 'cpu-per-packet', 'attribution'] },
  estimateRuns: (n, options) => countRuns(plan(n, options), options.repetitions),
  run: (n, ctx) => runPlans(plan(n, ctx.options), ctx),
};
