// The elastic scenario's own checks can fail: fed timelines that show what they look for.
import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../harness/src/result.js';
import type { TimelineSample } from '../../harness/src/timeline.js';
import { AUTOSCALE_STEP, elastic } from '../../scenarios/elastic.js';
import type { ScenarioOptions } from '../../scenarios/scenario.js';
import { sampleResult } from './sample-result.js';

const relayRun = () => sampleResult({}).steps[1].runs.find((r) => r.contender === 'relay')!;

/** One sample a second for 40 s: workers(t) and the relay's CPU in cores at t. */
const timeline = (workers: (t: number) => number, cores: (t: number) => number): TimelineSample[] => {
  let cpu = 0;
  return Array.from({ length: 40 }, (_, i) => {
    const t = i + 1;
    cpu += cores(t);
    return { t, cpuSeconds: cpu, counters: { workers: workers(t) } };
  });
};

const peak = (t: number) => t >= 4 && t <= 20;
/** The 'fixed 1' step used fixedOneCores at the peak and tailCores outside it. */
const steps = (autoscaled: TimelineSample[], fixedOneCores: number, tailCores = 0.05): StepResult[] => [
  { step: AUTOSCALE_STEP, x: 1, params: {}, runs: [{ ...relayRun(), timeline: autoscaled }] },
  { step: 'fixed 1', x: 2, params: {}, runs: [{ ...relayRun(), timeline: timeline(() => 1, (t) => (peak(t) ? fixedOneCores : tailCores)) }] },
];
const verdicts = (s: StepResult[]) => elastic.checks!(s, { repetitions: 1 } as ScenarioOptions).map((c) => [c.name, c.pass, c.advisory ?? false]);

describe('elastic checks', () => {
  const scaled = timeline((t) => (t < 7 ? 1 : t < 32 ? 2 : 1), () => 0.3);

  it('pass: two workers at a peak one worker was busy at, one given back after', () => {
    expect(verdicts(steps(scaled, 0.4))).toEqual([
      ['more workers at the peak, where one worker alone was busy', true, false],
      ['a worker given back once the load fell', true, false],
    ]);
  });

  it('fail: one worker all along where one worker alone was busy at the peak', () => {
    expect(verdicts(steps(timeline(() => 1, () => 0.3), 0.4))).toEqual([['more workers at the peak, where one worker alone was busy', false, false]]);
  });

  it('fail: no worker given back once the load fell', () => {
    expect(verdicts(steps(timeline((t) => (t < 7 ? 1 : 2), () => 0.3), 0.4))[1]).toEqual(['a worker given back once the load fell', false, false]);
  });

  it('INFO only when one worker was not busy at the peak, or not idle in the tail', () => {
    expect(verdicts(steps(timeline(() => 1, () => 0.1), 0.1))).toEqual([['workers at the peak', true, true]]);
    expect(verdicts(steps(timeline((t) => (t < 7 ? 1 : 2), () => 0.3), 0.4, 0.2))[1]).toEqual(['workers at the end', true, true]);
  });
});
