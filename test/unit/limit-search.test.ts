// The search for a limit (capacity over groups, replication over the input rate) on a synthetic
// contender, and the two gates read from result.json: relay group capacity and replication
// delivering every copy with no duplicates, each failing where it must.
import { describe, expect, it } from 'vitest';
import { capacityChecks } from '../../harness/src/capacity-gates.js';
import type { LimitSearch } from '../../harness/src/limit-search.js';
import { summarizeLimits } from '../../harness/src/limit-search.js';
import { replicationChecks } from '../../harness/src/replication-gates.js';
import type { ContenderRun, RunResult, StepResult } from '../../harness/src/result.js';
import { searchLimit } from '../../scenarios/limit-search.js';
import type { ScenarioContext, ScenarioOptions, StepPlan } from '../../scenarios/scenario.js';

/** A contender that loses nothing up to `knee` (groups or packets/s) and then loses; optionally one that fails to start from `failsFrom`. */
function context(knee: number, failsFrom = Infinity): ScenarioContext & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    options: { resolution: 0.02, ratePps: 10 } as ScenarioOptions,
    ceilingFor: async () => 0,
    assertOfferable: () => undefined,
    async runStep(plan: StepPlan): Promise<StepResult> {
      asked.push(plan.x);
      const expected = 100 * plan.x;
      const lost = plan.x <= knee ? 0 : plan.x - knee;
      const run = (plan.x >= failsFrom
        ? { contender: 'socat', status: 'failed', reason: `only 10 of ${plan.x} socat sockets bound after 10 s` }
        : { contender: 'socat', status: 'ok', aggregate: { expected, lost, duplicates: 0, lossPct: (lost / expected) * 100, deliveredPps: 1000, cpuUsPerPacket: 5, offeredPps: 9 * plan.x } }) as unknown as ContenderRun;
      return { step: plan.step, x: plan.x, params: {}, runs: [run] };
    },
  };
}

const plan = (ctx: ScenarioContext, upper: number) => searchLimit(ctx, { over: 'groups', subject: '', contender: 'socat', repetition: 1, upper, upperRule: 'N', planAt: (x) => ({ step: `${x}`, x, streams: x, workers: 1, fanout: 'hash', contenders: ['socat'], params: {} }) });

describe('limit search', () => {
  it('one trial when nothing fails at the bound ("≥")', async () => {
    const ctx = context(Infinity);
    expect(await plan(ctx, 1000)).toMatchObject({ found: 1000, atUpper: true });
    expect(ctx.asked).toEqual([1000]);
  });

  it('bisects below the bound to the knee within the resolution, and names what failed above it', async () => {
    const ctx = context(737);
    const s = (await plan(ctx, 1000))!;
    expect(s.found).toBeLessThanOrEqual(737);
    expect(s.found).toBeGreaterThanOrEqual(737 * 0.98 - 1);
    expect(s.atUpper).toBe(false);
    expect(s.limitedBy).toMatch(/^at \d+ groups: \d+ of \d+ lost/);
    // The generator achieved 9 of the 10 packets/s per group asked: recorded beside the figure.
    expect(s.trials.find((t) => t.value === s.found)).toMatchObject({ pass: true, cpuUsPerPacket: 5, offeredShare: 0.9 });
    expect(summarizeLimits([s])[0].offeredShareAtFound).toBe(0.9);
  });

  it('a contender that cannot start at a count fails that trial, its reason kept', async () => {
    const s = (await plan(context(Infinity, 600), 1000))!;
    expect(s.found).toBeLessThan(600);
    expect(s.limitedBy).toMatch(/failed: only 10 of \d+ socat sockets bound after 10 s/);
  });

  it('summaries are medians over repetitions, per subject and series', () => {
    const l = (repetition: number, found: number, subject = 'groups ×4'): LimitSearch => ({ over: 'input packets/s', subject, contender: 'relay', series: 'relay', repetition, found, upper: 50_000, upperRule: 'r', atUpper: false, copies: 4, trials: [{ value: found, pass: true, lossPct: 0, duplicates: 0, step: 's', cpuUsPerPacket: repetition }] });
    const [a, b] = summarizeLimits([l(1, 10), l(2, 30), l(3, 20), l(1, 5, 'interfaces ×4')]);
    expect(a).toMatchObject({ subject: 'groups ×4', found: 20, cpuUsPerPacketAtFound: 2, repetitions: 3, copies: 4 });
    expect(b).toMatchObject({ subject: 'interfaces ×4', found: 5, repetitions: 1 });
  });
});

function limitsResult(limits: Partial<LimitSearch>[]): RunResult {
  return { scenario: 'capacity', parameters: { ratePps: 10 }, steps: [], limits: limits.map((l) => ({ over: 'groups', subject: '', upperRule: 'N', atUpper: false, trials: [], repetition: 1, ...l })) } as unknown as RunResult;
}

describe('capacity gate', () => {
  it('passes the relay at its bound, fails it below in the worst repetition, reports socat', () => {
    const pass = capacityChecks(limitsResult([{ contender: 'relay', series: 'relay', found: 1000, upper: 1000, atUpper: true }]));
    expect(pass).toMatchObject([{ name: 'relay group capacity', pass: true, value: 1000, limit: '>= 1000' }]);
    const fail = capacityChecks(limitsResult([
      { contender: 'relay', series: 'relay', found: 1000, upper: 1000 },
      { contender: 'relay', series: 'relay', found: 2, upper: 1000, repetition: 2, limitedBy: 'at 4 groups: 3 of 40 lost (7.5 %), 0 duplicates' },
      { contender: 'socat', series: 'socat', found: 10, upper: 1000 },
    ]));
    expect(fail[0]).toMatchObject({ name: 'relay group capacity', pass: false, value: 2, repetition: 2 });
    expect(fail[0].metric).toContain('at 4 groups: 3 of 40 lost');
    expect(fail[1]).toMatchObject({ name: 'socat group capacity', pass: true, advisory: true, limit: 'none' });
  });
});

describe('replication gate', () => {
  const run = (contender: string, lost: number, duplicates: number, extra: Partial<ContenderRun> = {}) =>
    ({ contender, series: `${contender}/groups`, status: 'ok', repetition: 1, params: {}, sinkJoined: 'outputs', aggregate: { expected: 4000, lost, duplicates }, replication: { mode: 'groups', copies: 4, copiesSeen: lost >= 1000 ? 3 : 4, inputPps: 1000, destinations: [] }, ...extra }) as unknown as ContenderRun;
  const result = (runs: ContenderRun[]) => ({ scenario: 'replication', steps: [{ step: 'groups ×4', x: 4, params: {}, runs }] }) as unknown as RunResult;

  it('passes every copy delivered once; fails a lost copy or a duplicate; reports socat; skips search trials', () => {
    expect(replicationChecks(result([run('relay', 0, 0)]))).toMatchObject([{ pass: true, value: 0, limit: '<= 0' }]);
    const [lost] = replicationChecks(result([run('relay', 1000, 0)]));
    expect(lost).toMatchObject({ pass: false, value: 1000 });
    expect(lost.metric).toContain('copies seen at their sinks 3/4');
    expect(replicationChecks(result([run('relay', 0, 20)]))[0]).toMatchObject({ pass: false, value: 20 });
    expect(replicationChecks(result([run('socat', 5, 0)]))[0]).toMatchObject({ pass: true, advisory: true });
    expect(replicationChecks(result([run('relay', 5, 0, { exemptFromLoss: 'a search trial' })]))).toEqual([]);
  });
});
