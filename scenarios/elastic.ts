// elastic: the offered load ramps up and back down (low for LOW_S, the peak for PEAK_S, low again
// for TAIL_S, over N streams) while the relay scales its workers by load (--workers 1..MAX); the
// same ramp runs with one worker and with MAX, fixed, beside it. Every packet is counted at the
// sink as in any step, so the loss, duplicate and reordering gates hold across every scaling event;
// the timeline charts the worker count against the offered rate and the loss.
// On a machine of two cores, one worker carries any peak the instrument can offer beside it (150,000/s
// measured: no loss), and mcrd's default busy threshold (75 % of a core) is never reached: the
// scenario sets --scale-up-cpu SCALE_UP_CPU, so the ramp makes the relay scale, which is what it
// measures: what scaling events cost under traffic. Checks of its own:
//  - at the peak, at least two workers when one worker alone used more than the threshold there
//    (measured in the same run: the 'fixed 1' step's CPU at the peak); otherwise INFO;
//  - once the load fell, at least one worker given back, when one worker alone was under the idle
//    threshold in the tail (the same way); otherwise INFO.
import { checkAtLeast, checkAtMost, type Check } from '../harness/src/checks.js';
import { profileCount, type RateStep } from '../harness/src/generator.js';
import type { ContenderRun, StepResult } from '../harness/src/result.js';
import { DOWN_RATIO } from '../relay/src/api.js';
import { countRuns, runPlans, LADDER_OPTIONS, SEARCH_OPTIONS, type Scenario, type ScenarioOptions, type StepPlan } from './scenario.js';

/** Seconds: the low start, the peak (room for two steps up, 2 s busy + 5 s cool-down each), the low tail (10 s idle, then one step down). */
const LOW_S = 4;
const PEAK_S = 16;
const TAIL_S = 20;
/**
 * The low rate is this fraction of the peak: low enough that one worker fewer stays under the
 * idle threshold (7/15 of SCALE_UP_CPU, 11.7 % of a core) by mcrd's own estimate, the workers'
 * whole load over one fewer, which counts each worker's wake-ups per frame. At 5 % one worker
 * alone used 8 % of a core in the tail (this scenario's check), yet the two autoscaled workers
 * were never given back; at 2 % they were.
 */
const LOW_FRACTION = 0.02;
const DEFAULT_PEAK_PPS = 100_000;
const MAX_WORKERS = 4;
/** One worker carries 100,000/s here at ~3.6 µs a packet, about a third of a core: busy at a quarter. */
const SCALE_UP_CPU = 0.25;
const SAMPLE_SECONDS = 1;

export const AUTOSCALE_STEP = `autoscale 1..${MAX_WORKERS}`;
const FIXED_ONE = 'fixed 1';

function profile(options: ScenarioOptions): RateStep[] {
  const peak = options.aggregateRatePps ?? DEFAULT_PEAK_PPS;
  const low = Math.round(peak * LOW_FRACTION);
  return [
    { seconds: LOW_S, ratePps: low },
    { seconds: PEAK_S, ratePps: peak },
    { seconds: TAIL_S, ratePps: low },
  ];
}

function plan(streams: number, options: ScenarioOptions): StepPlan[] {
  const ramp = profile(options);
  const base = { streams, fanout: 'hash', contenders: options.contenders.filter((c) => c === 'relay'), profile: ramp, count: profileCount(ramp, streams), sampleSeconds: SAMPLE_SECONDS };
  const params = { streams, profile: ramp.map((s) => `${s.seconds}s@${s.ratePps}`).join(' ') };
  return [
    { ...base, step: AUTOSCALE_STEP, x: 1, workers: 1, relayFlags: ['--workers', `1..${MAX_WORKERS}`, '--scale-up-cpu', String(SCALE_UP_CPU)], relaySeries: `relay 1..${MAX_WORKERS}`, params: { ...params, workers: `1..${MAX_WORKERS}`, scaleUpCpu: SCALE_UP_CPU } },
    // The fixed counts are the comparison, their loss not gated: one worker may fall behind at the
    // peak, and four workers on two cores starve the sink (its socket overflowed here: counted, and
    // the sink's, not the relay's). Duplicates and reordering are gated in every step.
    { ...base, step: FIXED_ONE, x: 2, workers: 1, relaySeries: 'relay 1', params: { ...params, workers: 1 }, exemptFromLoss: 'the comparison: one worker alone may fall behind at the peak' },
    { ...base, step: `fixed ${MAX_WORKERS}`, x: 3, workers: MAX_WORKERS, relaySeries: `relay ${MAX_WORKERS}`, params: { ...params, workers: MAX_WORKERS }, exemptFromLoss: `the comparison: ${MAX_WORKERS} fixed workers on a small machine take CPU from the sink` },
  ];
}

/** Samples of a time window of the run (seconds since the traffic started). */
const during = (run: ContenderRun, from: number, to: number) => (run.timeline ?? []).filter((s) => s.t >= from && s.t <= to);

/** The relay's workers (its mcr_workers) over a window. */
const workersDuring = (run: ContenderRun, from: number, to: number) => during(run, from, to).flatMap((s) => (s.counters?.workers ? [s.counters.workers] : []));

/** The relay's CPU over a window, in cores: the median over its sampling intervals. */
function coresDuring(run: ContenderRun, from: number, to: number): number | undefined {
  const samples = during(run, from, to).filter((s) => s.cpuSeconds !== undefined);
  const rates = samples.slice(1).map((s, i) => (s.cpuSeconds! - samples[i].cpuSeconds!) / (s.t - samples[i].t)).sort((a, b) => a - b);
  return rates.length ? rates[Math.floor(rates.length / 2)] : undefined;
}

const pct = (cores: number | undefined) => (cores === undefined ? 'an unknown share' : `${Math.round(cores * 100)}%`);

/**
 * Each check applies where the same run shows the rule demands it: one worker alone (the 'fixed
 * 1' step, mcrd included) busy at the peak (the first two seconds left out: the rate is rising),
 * or under the idle threshold in the tail's last half; otherwise it is INFO.
 */
function checksFor(autoscaled: ContenderRun, fixedOne: ContenderRun | undefined, repeated: boolean): Check[] {
  const base = { scenario: 'elastic', step: AUTOSCALE_STEP, contender: autoscaled.series, ...(repeated ? { repetition: autoscaled.repetition } : {}) };
  const peak = Math.max(0, ...workersDuring(autoscaled, LOW_S, LOW_S + PEAK_S));
  const end = workersDuring(autoscaled, LOW_S + PEAK_S, Infinity).at(-1) ?? peak;
  const busy = fixedOne ? coresDuring(fixedOne, LOW_S + 2, LOW_S + PEAK_S) : undefined;
  const idle = fixedOne ? coresDuring(fixedOne, LOW_S + PEAK_S + TAIL_S / 2, Infinity) : undefined;
  const downCpu = DOWN_RATIO * SCALE_UP_CPU;
  const info = (name: string, metric: string, value: number): Check => ({ ...base, name, metric, value, limit: 'none', pass: true, advisory: true });
  const atPeak =
    busy !== undefined && busy >= SCALE_UP_CPU
      ? checkAtLeast({ ...base, name: 'more workers at the peak, where one worker alone was busy', metric: `workers (one worker used ${pct(busy)} of a core there, the threshold ${pct(SCALE_UP_CPU)})`, value: peak }, 2)
      : info('workers at the peak', `workers (one worker used ${pct(busy)} of a core there: the peak did not need more)`, peak);
  if (peak <= 1) return [atPeak];
  const gaveBack =
    idle !== undefined && idle < downCpu
      ? checkAtMost({ ...base, name: 'a worker given back once the load fell', metric: `workers at the end (one worker used ${pct(idle)} of a core in the tail, under ${pct(downCpu)})`, value: end }, peak - 1)
      : info('workers at the end', `workers (one worker used ${pct(idle)} of a core in the tail: not under the idle threshold ${pct(downCpu)})`, end);
  return [atPeak, gaveBack];
}

export const elastic: Scenario = {
  name: 'elastic',
  ignores: { count: 'the ramp sets how much is sent', rate: 'the ramp sets the rate (--aggregate-rate: its peak)', workers: `it runs 1..${MAX_WORKERS} against 1 and ${MAX_WORKERS}`, fanout: 'it runs hash', ...SEARCH_OPTIONS, steps: LADDER_OPTIONS.steps },
  summary: `a ramp (${LOW_S} s low, ${PEAK_S} s at the peak, ${TAIL_S} s low; --aggregate-rate sets the peak, default ${DEFAULT_PEAK_PPS.toLocaleString('en-US')}/s) through the relay scaling by load (--workers 1..${MAX_WORKERS} --scale-up-cpu ${SCALE_UP_CPU}), beside 1 and ${MAX_WORKERS} fixed workers; workers over time against the offered rate`,
  argName: 'streams',
  defaultSize: 8,
  maxSize: 100,
  presentation: { xTitle: 'workers', xLog: false, charts: ['timeline', 'loss', 'cpu-per-packet'] },
  estimateRuns: (n, options) => countRuns(plan(n, options), options.repetitions),
  run: (n, ctx) => runPlans(plan(n, ctx.options), ctx),
  checks: (steps: StepResult[], options) => {
    const autoscaled = steps.find((s) => s.step === AUTOSCALE_STEP)?.runs.filter((r) => r.status === 'ok') ?? [];
    const fixedOne = steps.find((s) => s.step === FIXED_ONE)?.runs ?? [];
    return autoscaled.flatMap((run) => checksFor(run, fixedOne.find((f) => f.repetition === run.repetition && f.status === 'ok'), options.repetitions > 1));
  },
};
