// The throughput search on a synthetic contender whose loss is a known function of the offered
// rate: the search must find its NDR and PDR within the resolution, and report what the
// generator really achieved.
import { describe, expect, it } from 'vitest';
import type { ContenderRun, StepResult } from '../../harness/src/result.js';
import type { ScenarioContext, ScenarioOptions, StepPlan } from '../../scenarios/scenario.js';
import { PDR_LOSS_PCT, search } from '../../scenarios/throughput.js';

/** A contender that loses nothing up to `knee` and then loses more and more; a generator that tops out at `genMax`. */
function context(knee: number, options: Partial<ScenarioOptions> = {}, genMax = Infinity): ScenarioContext & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    options: { resolution: 0.02, trialSeconds: 1, size: 512, sizes: [512], workers: 1, fanout: 'hash', ...options } as ScenarioOptions,
    ceilingFor: async () => 200_000,
    assertOfferable: () => undefined,
    async runStep(plan: StepPlan): Promise<StepResult> {
      asked.push(plan.x);
      const achieved = Math.min(plan.x, genMax);
      const lossPct = achieved <= knee ? 0 : ((achieved - knee) / achieved) * 100;
      const run = { contender: 'relay', series: 'relay', status: 'ok', repetition: 1, sinkJoined: 'outputs', params: {}, aggregate: { lossPct, offeredPps: achieved } } as unknown as ContenderRun;
      return { step: plan.step, x: plan.x, params: plan.params, runs: [run] };
    },
  };
}

describe('throughput search', () => {
  it('starts at the ceiling and bisects to the NDR within the resolution; PDR at or above it', async () => {
    const ctx = context(123_456);
    const s = await search(ctx, 4, 'relay', 1);
    expect(ctx.asked[0]).toBe(200_000);
    expect(s.ndrPps!).toBeLessThanOrEqual(123_456);
    expect(s.ndrPps!).toBeGreaterThan(123_456 * (1 - 0.02) - 4);
    expect(s.pdrPps!).toBeGreaterThanOrEqual(s.ndrPps!);
    expect(s.pdrPps!).toBeLessThanOrEqual(123_456 / (1 - PDR_LOSS_PCT / 100));
    expect(s.ndrLimitedByInstrument).toBe(false);
    expect(s.trials.every((t) => t.offeredPps % 4 === 0)).toBe(true); // whole packets/s per stream
    expect(s.trials.length).toBeLessThanOrEqual(12);
  });

  it('reports "at the ceiling" after one trial when nothing is lost there', async () => {
    const ctx = context(1e9);
    const s = await search(ctx, 1, 'relay', 1);
    expect(ctx.asked).toEqual([200_000]);
    expect(s).toMatchObject({ ndrPps: 200_000, pdrPps: 200_000, ndrLimitedByInstrument: true });
  });

  it('reports the rate the generator achieved, not marked as the instrument\'s limit, when the contender slowed it below the calibrated ceiling', async () => {
    // Calibration (the generator alone) reached 200,000; with this contender the generator sent 150,000.
    const s = await search(context(1e9, {}, 150_000), 1, 'relay', 1);
    expect(s).toMatchObject({ ndrPps: 150_000, ndrLimitedByInstrument: false });
  });

  it('refuses to search without a calibrated ceiling', async () => {
    const ctx = { ...context(1e9), ceilingFor: async () => 0 };
    await expect(search(ctx, 1, 'relay', 1)).rejects.toThrow(/no calibrated ceiling at 512-byte payloads: calibration failed/);
  });

  it('reports no NDR when even the lowest trial loses', async () => {
    const s = await search(context(0, { resolution: 0.5 }), 1, 'relay', 1);
    expect(s.ndrPps).toBeNull();
  });
});

describe('throughput search on a noisy contender', () => {
  it('never reports a PDR above a rate that lost more than the tolerance', async () => {
    // 0.05 % loss at the ceiling (within the PDR tolerance by luck), 5 % between 100k and the ceiling.
    const ctx = context(100_000);
    const runStep = ctx.runStep;
    ctx.runStep = async (plan) => {
      const step = await runStep(plan);
      if (plan.x >= 200_000) (step.runs[0].aggregate as { lossPct: number }).lossPct = 0.05;
      else if (plan.x > 100_000) (step.runs[0].aggregate as { lossPct: number }).lossPct = 5;
      return step;
    };
    const s = await search(ctx, 1, 'relay', 1);
    expect(s.ndrPps!).toBeLessThanOrEqual(100_000);
    expect(s.pdrPps!).toBeLessThanOrEqual(100_000);
    expect(s.pdrPps!).toBeGreaterThan(95_000);
  });
});
