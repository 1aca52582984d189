// The faults and soak scenarios' own checks can fail: fed runs (two streams, from the sample result) that show what they look for.
import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../harness/src/result.js';
import type { TimelineSample } from '../../harness/src/timeline.js';
import { faults } from '../../scenarios/faults.js';
import { soak } from '../../scenarios/soak.js';
import type { ScenarioOptions } from '../../scenarios/scenario.js';
import { sampleResult } from './sample-result.js';

const relayRun = (figures: Parameters<typeof sampleResult>[0]) => sampleResult(figures).steps[1].runs.find((r) => r.contender === 'relay')!;

function faultStep(kind: string, figures: Parameters<typeof sampleResult>[0], detail: Record<string, number | number[]>, tookMs = 100): StepResult {
  const run = relayRun(figures);
  return { step: kind, x: 1, params: {}, runs: [{ ...run, fault: { kind: kind as never, startedMs: 1500, tookMs, detail } }] };
}

const failing = (steps: StepResult[]) => faults.checks!(steps, {} as ScenarioOptions).filter((c) => !c.pass).map((c) => `${c.name}${c.stream ? ` #${c.stream}` : ''}`);

describe('faults checks', () => {
  it("worker kill: a gap on another worker's stream fails, as does a slow resume", () => {
    const detail = { killedStreams: [1], otherStreams: [2], killedPid: 1, restartedMs: 300 };
    expect(failing([faultStep('worker-kill', { longestGap: 0 }, detail)])).toEqual([]);
    expect(failing([faultStep('worker-kill', { longestGap: 4 }, detail)])).toEqual(["other workers' streams see no gap #2"]);
    expect(failing([faultStep('worker-kill', { longestGap: 600 }, detail)])).toEqual(["killed worker's streams resume #1", "other workers' streams see no gap #2"]);
    // A killed worker that carried nothing would make "streams resume" check nothing: that fails too.
    expect(failing([faultStep('worker-kill', { longestGap: 0 }, { ...detail, killedStreams: [], otherStreams: [1, 2] })])).toEqual(['the killed worker carried streams']);
  });

  it('supervisor restart: rules not restored, or a second gap, fail', () => {
    expect(failing([faultStep('supervisor-restart', { lost: 500 }, { rulesBefore: 4, rulesAfter: 4 })])).toEqual([]);
    expect(failing([faultStep('supervisor-restart', { lost: 500 }, { rulesBefore: 4, rulesAfter: 0 })])).toEqual(['rules restored from the state file']);
  });

  it("link faults: the outage beyond the fault's own time is gated at 1 s", () => {
    expect(failing([faultStep('link-flap', { lost: 1900 }, { downMs: 1000 })])).toEqual([]);
    expect(failing([faultStep('link-flap', { lost: 2100 }, { downMs: 1000 })])).toEqual(['forwarding resumes after link-flap']);
    expect(failing([faultStep('link-recreate', { lost: 1300 }, {}, 250)])).toEqual(['forwarding resumes after link-recreate']);
  });

  it('rule churn: any loss, a slow rate or a refused change fails', () => {
    expect(failing([faultStep('rule-churn', {}, { changes: 600, failed: 0, changesPerSecond: 200 })])).toEqual([]);
    expect(failing([faultStep('rule-churn', { lost: 1 }, { changes: 150, failed: 1, changesPerSecond: 50 })])).toEqual(['steady streams lose nothing during rule churn', 'rule churn rate', 'rule churn refused changes']);
  });

  it('worker scaling: any loss fails, and so does a step that moved no flow', () => {
    expect(failing([faultStep('worker-scale', {}, { from: 2, peak: 4, events: 4, bucketsMoved: 170, longestHoldMs: 3 })])).toEqual([]);
    expect(failing([faultStep('worker-scale', { lost: 1 }, { from: 2, peak: 4, events: 4, bucketsMoved: 0, longestHoldMs: 3 })])).toEqual(['scaling moved flows between workers', 'nothing lost while workers come and go']);
  });
});

describe('soak checks', () => {
  const step = (timeline: TimelineSample[]): StepResult => ({ step: 'soak', x: 60, params: {}, runs: [{ ...relayRun({}), timeline }] });
  const options = { durationSeconds: 60 } as ScenarioOptions;
  const samples = (rssMiB: (t: number) => number, fds: (t: number) => number) => Array.from({ length: 30 }, (_, i) => ({ t: 2 * (i + 1), rssBytes: rssMiB(2 * (i + 1)) * 2 ** 20, fds: fds(2 * (i + 1)) }));
  const verdicts = (timeline: TimelineSample[]) => soak.checks!([step(timeline)], options).map((c) => c.pass);

  it('steady memory and descriptors pass; memory that settles during warm-up passes', () => {
    expect(verdicts(samples(() => 268, () => 70))).toEqual([true, true]);
    expect(verdicts(samples((t) => (t < 6 ? 200 : 268), () => 70))).toEqual([true, true]);
  });

  it('a leak fails: memory growing after warm-up, or one more open descriptor', () => {
    expect(verdicts(samples((t) => 268 + t, () => 70))).toEqual([false, true]);
    expect(verdicts(samples(() => 268, (t) => (t === 40 ? 71 : 70)))).toEqual([true, false]);
  });
});
