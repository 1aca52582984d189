// replication: RFC 3918's forwarding matrix — one input group forwarded to K copies, as K output
// groups on one interface and as one group on K interfaces, K = 1, 2, 4, 8, 16 up to N. Per mode
// and K: a delivery step at --rate (every copy of every packet counted at its own sink: the gate),
// then per contender a search for the highest input rate with nothing lost or duplicated on any
// copy (NDR), with the CPU per delivered copy at that rate. Relay: one rule with K outputs;
// socat: K processes; kernel: one MFC entry with K output interfaces (it cannot rewrite a group).
import type { ContenderName } from '../harness/src/contenders/types.js';
import type { LimitSearch } from '../harness/src/limit-search.js';
import { REPLICATION_MODES, runReplication, type ReplicationMode } from '../harness/src/replication.js';
import { MAX_TRIALS, searchLimit } from './limit-search.js';
import { PreflightError } from './run.js';
import { LADDER_OPTIONS, type Scenario, type ScenarioContext, type ScenarioOptions, type StepPlan } from './scenario.js';

const LADDER = [1, 2, 4, 8, 16];
/** RFC 3918 runs the matrix to 16 here: one output link per copy, well under the topology's 31 (MAXVIFS less the input). */
const MAX_COPIES = 16;
const FALLBACK_CEILING_PPS = 100_000;

function copySteps(n: number, only?: number[]): number[] {
  const over = only?.filter((s) => s > n) ?? [];
  if (over.length) throw new PreflightError(`--steps ${over.join(',')}: more copies than N (${n}); at most ${MAX_COPIES}`);
  if (only) return [...new Set(only.filter((s) => s <= n))].sort((a, b) => a - b);
  return [...new Set([...LADDER.filter((s) => s < n), n])];
}

const subject = (mode: ReplicationMode, k: number) => `${mode} ×${k}`;

function deliveryPlan(mode: ReplicationMode, k: number, options: ScenarioOptions): StepPlan {
  return {
    step: subject(mode, k),
    x: k,
    streams: 1,
    workers: options.workers,
    fanout: options.fanout,
    contenders: options.contenders,
    params: { mode, copies: k, inputPps: options.ratePps },
    runner: (o) => runReplication(o, { mode, copies: k }),
  };
}

function trialPlan(mode: ReplicationMode, k: number, contender: ContenderName, rate: number, options: ScenarioOptions): StepPlan {
  return {
    ...deliveryPlan(mode, k, options),
    step: `${subject(mode, k)} ${contender} ${rate}/s`,
    contenders: [contender],
    ratePps: rate,
    count: Math.max(100, Math.round(rate * options.trialSeconds)),
    params: { mode, copies: k, inputPps: rate },
    exemptFromLoss: 'a search trial: loss above the NDR is what the search looks for',
    // RFC 2544 waits two seconds after a trial for frames still in flight; later ones are lost.
    drainSeconds: 2,
  };
}

async function run(n: number, ctx: ScenarioContext): Promise<{ limits: LimitSearch[] }> {
  const { options } = ctx;
  const ks = copySteps(n, options.steps);
  for (const mode of REPLICATION_MODES) for (const k of ks) ctx.assertOfferable({ ...deliveryPlan(mode, k, options), streams: k });
  const calibrated = await ctx.ceilingFor(options.size);
  const limits: LimitSearch[] = [];
  for (const mode of REPLICATION_MODES) {
    for (const k of ks) {
      const delivery = await ctx.runStep(deliveryPlan(mode, k, options));
      // A contender skipped at --rate (the kernel here: no multicast routing; in the groups mode: no rewriting) has no rate to search.
      const skipped = new Set(delivery.runs.filter((r) => r.status === 'skipped').map((r) => r.contender));
      for (let repetition = 1; repetition <= options.repetitions; repetition++) {
        for (const contender of options.contenders.filter((c) => !skipped.has(c))) {
          // One that already lost or duplicated copies at --rate has its NDR below it: a search from
          // the ceiling would spend its whole budget bisecting towards zero. Recorded as not searched.
          const unclean = delivery.runs.find((r) => r.contender === contender && (r.status !== 'ok' || !r.aggregate || r.aggregate.lost + r.aggregate.duplicates > 0));
          if (unclean) {
            const why = unclean.aggregate ? `${unclean.aggregate.lost} copies lost and ${unclean.aggregate.duplicates} duplicated` : `${unclean.status}: ${unclean.reason ?? ''}`;
            limits.push({ over: 'input packets/s', subject: subject(mode, k), contender, series: contender, repetition, copies: k, found: 0, upper: options.ratePps, upperRule: '--rate', atUpper: false, limitedBy: `not searched: at the delivery step's ${options.ratePps}/s ${why}`, trials: [] });
            continue;
          }
          const found = await searchLimit(ctx, {
            over: 'input packets/s',
            subject: subject(mode, k),
            contender,
            repetition,
            copies: k,
            // The sinks take K copies of every input packet: the calibrated ceiling (generator to
            // sink, zero loss) over K is the highest input rate whose copies the instrument can count.
            upper: Math.max(1, Math.floor((calibrated > 0 ? calibrated : FALLBACK_CEILING_PPS) / k)),
            upperRule: `the instrument's calibrated ceiling ${calibrated > 0 ? calibrated.toLocaleString('en-US') : `(calibration failed: ${FALLBACK_CEILING_PPS.toLocaleString('en-US')})`} packets/s over ${k} copies`,
            planAt: (rate) => trialPlan(mode, k, contender, rate, options),
          });
          if (found) limits.push(found);
        }
      }
    }
  }
  return { limits };
}

export const replication: Scenario = {
  name: 'replication',
  summary: `one input group to K copies (K output groups on one interface; one group on K interfaces), K = ${LADDER.join(', ')} up to N (or --steps): every copy counted at its own sink at --rate, then per contender the highest input rate with no copy lost (NDR) and the CPU per delivered copy there; relay (one rule, K outputs) vs socat (K processes) vs kernel`,
  argName: 'copies',
  defaultSize: MAX_COPIES,
  maxSize: MAX_COPIES,
  ignores: {
    streams: 'its input is one group',
    relayCpuLimit: 'its relay side applies --egress-limit, --no-igmp and --inject-duplicates (negative controls in test/integration/replication.test.ts)',
    crossWire: 'one rule with K outputs cannot send two outputs to one group (the rule refuses an output listed twice)',
    bridge: 'its output links are plain veth pairs, several of them',
    relaySlowSend: 'its relay side applies --egress-limit, --no-igmp and --inject-duplicates (negative controls in test/integration/replication.test.ts)',
    aggregateRate: LADDER_OPTIONS.aggregateRate,
    cpus: 'its contenders are started by its own runner, which places nothing yet',
  },
  presentation: { xTitle: 'copies (K)', xLog: false, charts: ['replication-ndr', 'replication-cpu'] },
  calibrationStreams: () => 1,
  estimateRuns: (n, options) => REPLICATION_MODES.length * copySteps(n, options.steps).length * options.contenders.length * (1 + options.repetitions * Math.min(MAX_TRIALS, 2 + Math.ceil(Math.log2(1 / options.resolution)))),
  run,
};
