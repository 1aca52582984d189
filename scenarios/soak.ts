// soak: one long run (the seed's 100,000,000 packets are `soak -- --duration 11m --rate 150000`),
// the relay's memory, descriptors and CPU and the sink's loss sampled every few seconds. Fails on
// loss above --max-loss (the loss gate), memory growth beyond RSS_GROWTH_LIMIT after warm-up, or
// any growth of open descriptors.
import { checkAtMost, type Check } from '../harness/src/checks.js';
import type { StepResult } from '../harness/src/result.js';
import type { TimelineSample } from '../harness/src/timeline.js';
import { runPlans, LADDER_OPTIONS, SEARCH_OPTIONS, type Scenario, type ScenarioOptions, type StepPlan } from './scenario.js';

export const DEFAULT_SOAK_SECONDS = 60;
/** Memory may settle during the first tenth of the run; after that it must stay within this. */
const RSS_GROWTH_LIMIT_MIB = 16;
const WARM_FRACTION = 0.1;

function plan(streams: number, options: ScenarioOptions): StepPlan[] {
  if (!options.contenders.includes('relay')) throw new Error('soak runs the relay: --contenders must include relay');
  const seconds = options.durationSeconds ?? DEFAULT_SOAK_SECONDS;
  return [
    {
      step: 'soak',
      x: seconds,
      streams,
      workers: options.workers,
      fanout: options.fanout,
      contenders: ['relay'],
      params: { streams, seconds, ratePps: options.ratePps },
      count: Math.round(options.ratePps * seconds),
      sampleSeconds: seconds <= 120 ? 2 : 5,
      drainSeconds: 10,
    },
  ];
}

/** Samples after warm-up (the first one is the reference). */
function warmSamples(timeline: TimelineSample[], seconds: number): TimelineSample[] {
  return timeline.filter((s) => s.t >= seconds * WARM_FRACTION && s.rssBytes !== undefined);
}

function checks(steps: StepResult[], options: ScenarioOptions): Check[] {
  const seconds = options.durationSeconds ?? DEFAULT_SOAK_SECONDS;
  return steps.flatMap((step) =>
    step.runs.flatMap((run) => {
      const warm = warmSamples(run.timeline ?? [], seconds);
      const base = { scenario: 'soak', step: step.step, contender: run.series };
      if (warm.length < 2) return run.status === 'ok' ? [{ ...base, name: 'soak samples', metric: 'samples after warm-up', value: warm.length, limit: '>= 2', pass: false }] : [];
      const [first, last] = [warm[0], warm[warm.length - 1]];
      const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
      return [
        checkAtMost({ ...base, name: 'relay memory growth after warm-up', metric: `RSS MiB growth (from ${mib(first.rssBytes!)} at ${first.t} s)`, value: mib(last.rssBytes! - first.rssBytes!) }, RSS_GROWTH_LIMIT_MIB),
        checkAtMost({ ...base, name: 'relay open descriptors do not grow', metric: `fds above the ${first.fds} at ${first.t} s (highest seen)`, value: Math.max(...warm.map((s) => s.fds!)) - first.fds! }, 0),
      ];
    }),
  );
}

export const soak: Scenario = {
  name: 'soak',
  ignores: { count: 'it sends for --duration', streams: 'its streams are N', ...SEARCH_OPTIONS , ...LADDER_OPTIONS },
  summary: 'one long run (--duration, default 60 s) with the relay\'s RSS, open fds, CPU and the sink\'s loss sampled over time',
  argName: 'streams',
  defaultSize: 1,
  maxSize: 1000,
  runsForDuration: true,
  presentation: { xTitle: 'seconds', xLog: false, charts: ['timeline', 'attribution'] },
  estimateRuns: () => 1,
  run: (n, ctx) => runPlans(plan(n, ctx.options), ctx),
  checks,
};
