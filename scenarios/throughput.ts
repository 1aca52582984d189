// throughput: the offered rate swept from 10% to 100% of the instrument's calibrated ceiling over
// N streams, for each contender; the report quotes, per contender, the highest offered rate with
// no loss (NDR) and with at most 0.5% loss (PDR), in the spirit of RFC 2544 and FD.io CSIT.
// A sweep, not a bisection: its resolution is the spacing of the fractions below.
import type { Check } from '../harness/src/checks.js';
import type { StepResult } from '../harness/src/result.js';
import type { Scenario, StepPlan } from './scenario.js';

export const THROUGHPUT_FRACTIONS = [0.1, 0.25, 0.5, 0.75, 1.0];
/** Seconds of measured traffic per probe. */
const PROBE_SECONDS = 2;
const FALLBACK_CEILING_PPS = 100_000;

export const throughput: Scenario = {
  name: 'throughput',
  summary: 'offered rate 10%..100% of the calibrated ceiling over N streams; NDR and PDR (0.5% loss) per contender',
  argName: 'streams',
  plan(n, options, ceilingPps): StepPlan[] {
    const ceiling = ceilingPps > 0 ? ceilingPps : FALLBACK_CEILING_PPS;
    return THROUGHPUT_FRACTIONS.map((fraction) => {
      const ratePps = Math.max(1, Math.floor((ceiling * fraction) / n));
      const offeredPps = ratePps * n;
      return {
        step: String(offeredPps),
        streams: n,
        workers: options.workers,
        fanout: options.fanout,
        contenders: options.contenders,
        ratePps,
        count: Math.max(100, Math.round(ratePps * PROBE_SECONDS)),
        params: { streams: n, offeredPps, fraction, workers: options.workers, fanout: options.fanout },
      };
    });
  },
  checks(steps: StepResult[]): Check[] {
    // Informational: a throughput run reports figures; duplication is still never acceptable.
    return steps.flatMap((step) =>
      step.runs
        .filter((r) => r.contender === 'relay' && r.aggregate && r.params.fanout !== 'none')
        .map((r) => ({ name: 'relay duplication', scenario: 'throughput', step: step.step, contender: 'relay', metric: 'duplicates', value: r.aggregate!.duplicates, limit: '<= 0', pass: r.aggregate!.duplicates === 0 })),
    );
  },
};
