// throughput: per contender, a binary search for the highest offered aggregate rate over N
// streams with no loss (NDR) and with at most PDR_LOSS_PCT loss (PDR), in the spirit of RFC 2544
// and FD.io CSIT. The search starts at the instrument's calibrated ceiling. An NDR is reported as
// "≥" when the instrument set it: nothing was lost at the ceiling, which the generator reached
// both alone (calibration, in the same run) and in that trial. A contender that slows the
// generator below the ceiling does not earn the "≥": what it carried is its NDR.
import type { ContenderName } from '../harness/src/contenders/types.js';
import type { SearchResult } from '../harness/src/result.js';
import { LADDER_OPTIONS, type Scenario, type ScenarioContext, type StepPlan } from './scenario.js';

export const PDR_LOSS_PCT = 0.1;
/** Trials per search at most, whatever the resolution. */
const MAX_TRIALS = 12;
/** A trial whose generator sent at least this share of the asked rate reached it (its pacing rounds). */
const ACHIEVED_SHARE = 0.95;

function trialPlan(ctx: ScenarioContext, n: number, contender: ContenderName, size: number, offered: number): StepPlan {
  const { options } = ctx;
  const ratePps = offered / n;
  return {
    step: options.sizes.length > 1 ? `${contender} ${size}B ${offered}` : `${contender} ${offered}`,
    size,
    x: offered,
    streams: n,
    workers: options.workers,
    fanout: options.fanout,
    contenders: [contender],
    ratePps,
    count: Math.max(100, Math.round(ratePps * options.trialSeconds)),
    params: { streams: n, offeredPps: offered, size, workers: options.workers, fanout: options.fanout },
    exemptFromLoss: 'a search trial: loss above the NDR is what the search looks for',
    // RFC 2544 waits two seconds after a trial for frames still in flight; later ones are lost.
    drainSeconds: 2,
  };
}

/** Bisects [pass, fail) until the bounds are within `resolution` of the upper one; returns the highest passing value (a rate here, a group count in capacity). */
export async function bisect(pass: number, fail: number, resolution: number, ok: (rate: number) => Promise<boolean>, budget: () => boolean): Promise<number> {
  while (fail - pass > resolution * fail && budget()) {
    const mid = Math.round((pass + fail) / 2);
    if (mid === pass || mid === fail) break;
    if (await ok(mid)) pass = mid;
    else fail = mid;
  }
  return pass;
}

export async function search(ctx: ScenarioContext, n: number, contender: ContenderName, repetition: number, size = ctx.options.size): Promise<SearchResult> {
  const calibrated = await ctx.ceilingFor(size);
  // Without a ceiling there is nothing to search from: the run's failed calibration check fails it.
  if (calibrated <= 0) throw new Error(`no calibrated ceiling at ${size}-byte payloads: calibration failed`);
  const ceiling = Math.max(1, Math.floor(calibrated / n)) * n;
  const trials: SearchResult['trials'] = [];
  // Rates the generator can be asked for: a whole number of packets/s per stream.
  const offerable = (rate: number) => Math.max(1, Math.floor(rate / n)) * n;
  const trialAt = (rate: number) => trials.find((t) => t.offeredPps === offerable(rate));
  const loss = async (rate: number): Promise<number> => {
    const seen = trialAt(rate);
    if (seen) return seen.lossPct;
    const plan = trialPlan(ctx, n, contender, size, offerable(rate));
    const run = (await ctx.runStep(plan, repetition)).runs[0];
    if (run?.status !== 'ok' || !run.aggregate) throw new Error(`${contender} trial at ${rate} packets/s ${run?.status ?? 'did not run'}: ${run?.reason ?? ''}`);
    trials.push({ offeredPps: plan.x, achievedPps: Math.round(run.aggregate.offeredPps), lossPct: run.aggregate.lossPct, step: plan.step });
    return run.aggregate.lossPct;
  };
  const budget = () => trials.length < MAX_TRIALS;
  const { resolution } = ctx.options;
  const top = await loss(ceiling);
  const ndr = top === 0 ? ceiling : await bisect(0, ceiling, resolution, async (r) => (await loss(r)) === 0, budget);
  // PDR from what the NDR search learned: the lowest rate beyond tolerance, and the highest within
  // it below that (on a noisy machine a higher trial can pass by luck; it does not count).
  const beyond = Math.min(...trials.filter((t) => t.lossPct > PDR_LOSS_PCT).map((t) => t.offeredPps));
  const within = Math.max(0, ...trials.filter((t) => t.lossPct <= PDR_LOSS_PCT && t.offeredPps < beyond).map((t) => t.offeredPps));
  const pdr = beyond === Infinity ? ceiling : await bisect(within, beyond, resolution, async (r) => (await loss(r)) <= PDR_LOSS_PCT, budget);
  // Report what was really offered in the deciding trial: on a shared machine the generator may fall short.
  const achieved = (rate: number) => Math.min(offerable(rate), trialAt(rate)?.achievedPps ?? rate);
  return {
    contender,
    series: contender,
    repetition,
    streams: n,
    size,
    ndrPps: ndr > 0 ? achieved(ndr) : null,
    pdrPps: pdr > 0 ? achieved(pdr) : null,
    pdrLossPct: PDR_LOSS_PCT,
    ceilingPps: ceiling,
    ndrLimitedByInstrument: top === 0 && trialAt(ceiling)!.achievedPps >= ACHIEVED_SHARE * ceiling,
    resolution,
    trials,
  };
}

export const throughput: Scenario = {
  name: 'throughput',
  ignores: { rate: 'its search chooses the rates', count: 'each trial sends for --trial-seconds', streams: 'its streams are N' , ...LADDER_OPTIONS },
  summary: `per contender, binary search for NDR (0 loss) and PDR (≤ ${PDR_LOSS_PCT}% loss) over N streams, from the calibrated ceiling down`,
  argName: 'streams',
  defaultSize: 4,
  maxSize: 1000,
  presentation: { xTitle: 'offered packets/s', xLog: false, charts: ['delivered', 'loss', 'latency', 'cpu-per-packet', 'attribution'] },
  sweepsSizes: true,
  calibrationStreams: (n) => n,
  estimateRuns: (_n, options) => options.sizes.length * options.contenders.length * options.repetitions * Math.min(MAX_TRIALS, 2 + Math.ceil(Math.log2(1 / options.resolution))),
  async run(n, ctx) {
    const searches: SearchResult[] = [];
    for (const size of ctx.options.sizes) {
      if ((await ctx.ceilingFor(size)) <= 0) continue;  // the failed calibration check fails the run
      for (let repetition = 1; repetition <= ctx.options.repetitions; repetition++) {
        for (const contender of ctx.options.contenders) {
          try {
            searches.push(await search(ctx, n, contender, repetition, size));
          } catch (err) {
            // A contender that cannot run (skipped, failed) has no search; the gate sees its runs.
            if (!/ (skipped|failed|did not run):/.test((err as Error).message)) throw err;
          }
        }
      }
    }
    return { searches };
  },
};
