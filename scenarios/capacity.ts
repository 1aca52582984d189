// capacity: RFC 3918 group capacity — per contender, the most groups forwarded with nothing lost
// or duplicated at a fixed rate per group (--rate, default 10/s), found by a search over the
// group count up to N (throughput's bisect, over groups instead of rate). Relay vs socat (one
// process per group) vs kernel routing (one MFC entry per group; skipped where the kernel has no
// multicast routing). The first failing trial above a contender's figure says what limits it.
import type { LimitSearch } from '../harness/src/limit-search.js';
import { MAX_TRIALS, searchLimit } from './limit-search.js';
import { LADDER_OPTIONS, type Scenario, type ScenarioContext, type ScenarioOptions, type StepPlan } from './scenario.js';

/**
 * Packets/s per group by default: 10,000 groups then offer 100,000 packets/s, under the
 * instrument's calibrated ceiling on this machine (270,000-310,000 at 512 B), so that loss measures
 * the contender, and the load at which the relay was measured delivering 10,000 groups in full
 * (docs/measured-figures.md).
 */
export const CAPACITY_RATE_PPS = 10;
const MAX_GROUPS = 10_000;
/**
 * socat runs one process per group, and the harness starts them one after another: here a trial
 * of 1000 took 58 s (capacity; 103-151 s to start them in join-leave's runs), while 10,000 were
 * still starting after 15 minutes (7,750 up, about 13 a second on this loaded 2-core machine).
 * Beyond 1000 a trial measures process start-up, not forwarding: socat's search starts there, and
 * its figure then reads "≥ 1000" with this reason.
 */
export const SOCAT_MAX_GROUPS = 1000;
const FALLBACK_CEILING_PPS = 100_000;

function trialPlan(groups: number, contender: StepPlan['contenders'][number], options: ScenarioOptions): StepPlan {
  return {
    step: `${contender} ${groups} groups`,
    x: groups,
    streams: groups,
    workers: options.workers,
    fanout: options.fanout,
    contenders: [contender],
    ratePps: options.ratePps,
    count: Math.max(10, Math.round(options.ratePps * options.trialSeconds)),
    // At most one second of warm-up per group: the joins are seen by the bridge before traffic
    // starts, so warm-up only absorbs the contender's start; 50 packets at 10/s would be 5 s a trial.
    warmup: Math.min(options.warmup, options.ratePps),
    params: { groups, ratePps: options.ratePps, workers: options.workers, fanout: options.fanout },
    exemptFromLoss: 'a search trial: loss above the capacity is what the search looks for',
    // RFC 2544 waits two seconds after a trial for frames still in flight; later ones are lost.
    // Plus 0.5 s per 1000 groups: the sink's wait runs from before the generator starts, and the
    // generator opening and pacing 10,000 streams ended 1.2-1.9 s after its 3 s schedule here
    // (with 2 s alone the sink stopped first and half the groups lost their last packets).
    drainSeconds: 2 + groups / 2000,
  };
}

/** The highest group count the instrument can offer at the per-group rate, and the rule that sets it. */
export function upperBound(n: number, ratePps: number, ceilingPps: number): { upper: number; rule: string } {
  const ceiling = ceilingPps > 0 ? ceilingPps : FALLBACK_CEILING_PPS;
  const offerable = Math.floor(ceiling / ratePps);
  return offerable >= n
    ? { upper: n, rule: `N` }
    : { upper: Math.max(1, offerable), rule: `the instrument's calibrated ceiling ${ceiling.toLocaleString('en-US')} packets/s${ceilingPps > 0 ? '' : ' (calibration failed: a fallback)'} over ${ratePps} packets/s per group` };
}

async function run(n: number, ctx: ScenarioContext): Promise<{ limits: LimitSearch[] }> {
  const { options } = ctx;
  const { upper, rule } = upperBound(n, options.ratePps, await ctx.ceilingFor(options.size));
  const limits: LimitSearch[] = [];
  for (let repetition = 1; repetition <= options.repetitions; repetition++) {
    for (const contender of options.contenders) {
      const capped = contender === 'socat' && upper > SOCAT_MAX_GROUPS;
      const bound = capped ? { upper: SOCAT_MAX_GROUPS, upperRule: `socat runs a process per group: beyond ${SOCAT_MAX_GROUPS} their start-up (10,000 still starting after 15 min here) is what a trial would measure` } : { upper, upperRule: rule };
      const found = await searchLimit(ctx, { over: 'groups', subject: '', contender, repetition, ...bound, planAt: (groups) => trialPlan(groups, contender, options) });
      if (found) limits.push(found);
    }
  }
  return { limits };
}

export const capacity: Scenario = {
  name: 'capacity',
  summary: `RFC 3918 group capacity: per contender, the most groups (up to N, at most ${MAX_GROUPS.toLocaleString('en-US')}) forwarded with nothing lost at --rate packets/s per group (default ${CAPACITY_RATE_PPS}), by a search over the group count; relay vs socat (a process per group) vs kernel`,
  argName: 'groups',
  defaultSize: 1000,
  maxSize: MAX_GROUPS,
  defaultRatePps: CAPACITY_RATE_PPS,
  ignores: {
    streams: 'its groups are what it searches',
    count: 'each trial sends for --trial-seconds',
    ...LADDER_OPTIONS,
  },
  presentation: { xTitle: 'groups', xLog: true, charts: ['capacity'] },
  estimateRuns: (_n, options) => options.contenders.length * options.repetitions * Math.min(MAX_TRIALS, 2 + Math.ceil(Math.log2(1 / options.resolution))),
  run,
};
