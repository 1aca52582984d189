// faults: what a plant throws at the relay, one fault per step while the traffic flows, each
// gated from what the sink counted (sequence gaps -> outage in ms, see measure.ts outageMs):
//   worker-kill         SIGKILL one worker: its streams resume within 500 ms, the others see no gap
//   supervisor-restart  SIGKILL mcrd, start it again with its state file: rules back, one outage only
//   link-flap           input link down 1 s, up: traffic back within 1 s of the link
//   link-recreate       input veth deleted and created again (new ifindex): back within 1 s
//   rule-churn          100+ rule changes/s beside the streams: nothing lost on them
//   worker-scale        two workers added and, 1.5 s later, stopped again: nothing lost, duplicated or reordered
// Link faults happen to the topology, so socat and the kernel face them too (reported, not gated).
import { checkAtLeast, checkAtMost, type Check } from '../harness/src/checks.js';
import type { FaultKind, FaultPlan } from '../harness/src/faults.js';
import { LINK_FAULTS } from '../harness/src/faults.js';
import type { ContenderRun, StepResult } from '../harness/src/result.js';
import { countRuns, runPlans, LADDER_OPTIONS, SEARCH_OPTIONS, type Scenario, type ScenarioOptions, type StepPlan } from './scenario.js';

/** Traffic before the fault, and in all: long enough for a 1 s fault and a 1 s recovery. */
const FAULT_AT_SECONDS = 1.5;
const TRAFFIC_SECONDS = 6;
const LIMITS = { killedWorkerOutageMs: 500, restartOutageMs: 5000, linkRecoveryMs: 1000, churnPerSecond: 100 };

const CASES: { kind: FaultKind; fault: Omit<FaultPlan, 'kind' | 'atSeconds'>; why: string }[] = [
  { kind: 'worker-kill', fault: {}, why: 'a worker is killed' },
  { kind: 'supervisor-restart', fault: {}, why: 'mcrd is killed and restarted' },
  { kind: 'link-flap', fault: { durationMs: 1000 }, why: 'the input link is down 1 s' },
  { kind: 'link-recreate', fault: {}, why: 'the input link is deleted and created again' },
  { kind: 'rule-churn', fault: { durationMs: 3000, changesPerSecond: 200 }, why: '' },
  // No exemption: the loss, duplicate and reordering gates hold across scaling as at any time.
  { kind: 'worker-scale', fault: { addWorkers: 2, durationMs: 1500 }, why: '' },
];

function plan(streams: number, options: ScenarioOptions): StepPlan[] {
  if (options.topology !== 'snooping') throw new Error("faults needs --topology snooping: the generator must send through a bridge that outlives the relay's input link");
  const count = Math.max(options.count, Math.round(options.ratePps * TRAFFIC_SECONDS));
  return CASES.map(({ kind, fault, why }, i) => ({
    step: kind,
    x: i + 1,
    streams,
    workers: Math.max(2, options.workers),
    fanout: 'hash',
    contenders: options.contenders.filter((c) => c === 'relay' || LINK_FAULTS.includes(kind)),
    params: { fault: kind, streams, ...fault },
    count,
    fault: { kind, atSeconds: FAULT_AT_SECONDS, ...fault },
    // Loss during an outage is the fault's, gated by the outage checks below; churn must lose nothing.
    ...(why ? { exemptFromLoss: `fault injected: ${why}; the outage is gated instead` } : {}),
  }));
}

const round = (n: number) => Math.round(n * 10) / 10;

function checksFor(step: StepResult, run: ContenderRun, repeated: boolean): Check[] {
  const fault = run.fault;
  if (!fault || !run.aggregate || !run.streams) return [];
  const base = { scenario: 'faults', step: step.step, contender: run.series, ...(repeated ? { repetition: run.repetition } : {}) };
  const streamOutage = (n: number) => run.streams!.find((s) => s.stream === n);
  const d = fault.detail;
  if (run.contender !== 'relay') {
    return [{ ...base, name: `${run.contender} under ${fault.kind}`, metric: 'longest outage ms', value: round(run.aggregate.outageMs), limit: 'none', pass: true, advisory: true }];
  }
  switch (fault.kind) {
    case 'worker-kill': {
      const carried = checkAtLeast({ ...base, name: 'the killed worker carried streams', metric: 'streams carried', value: (d.killedStreams as number[]).length }, 1);
      const killed = (d.killedStreams as number[]).map((n) => checkAtMost({ ...base, name: "killed worker's streams resume", stream: n, metric: 'outage ms', value: round(streamOutage(n)?.outageMs ?? Infinity) }, LIMITS.killedWorkerOutageMs));
      const others = (d.otherStreams as number[]).map((n) => checkAtMost({ ...base, name: "other workers' streams see no gap", stream: n, metric: 'missing packets in a row', value: streamOutage(n)?.longestGap ?? Infinity }, 0));
      return [carried, ...killed, ...others];
    }
    case 'supervisor-restart':
      return [
        checkAtLeast({ ...base, name: 'rules restored from the state file', metric: 'rules after restart', value: d.rulesAfter as number }, d.rulesBefore as number),
        checkAtMost({ ...base, name: 'supervisor restart outage', metric: 'longest outage ms', value: round(run.aggregate.outageMs) }, LIMITS.restartOutageMs),
        ...run.streams.map((s) => checkAtMost({ ...base, name: 'nothing lost after the restart', stream: s.stream, metric: 'gaps', value: s.gaps }, 1)),
      ];
    case 'link-flap':
    case 'link-recreate': {
      // The fault's own time (link down, or deleting and creating it) is not the relay's to win back.
      const faultMs = fault.kind === 'link-flap' ? (d.downMs as number) : fault.tookMs;
      return [checkAtMost({ ...base, name: `forwarding resumes after ${fault.kind}`, metric: `outage ms beyond the fault's ${round(faultMs)} ms`, value: round(Math.max(0, run.aggregate.outageMs - faultMs)) }, LIMITS.linkRecoveryMs)];
    }
    case 'rule-churn':
      return [
        checkAtMost({ ...base, name: 'steady streams lose nothing during rule churn', metric: 'packets lost', value: run.aggregate.lost }, 0),
        checkAtLeast({ ...base, name: 'rule churn rate', metric: 'acknowledged changes/s', value: d.changesPerSecond as number }, LIMITS.churnPerSecond),
        checkAtMost({ ...base, name: 'rule churn refused changes', metric: 'failed changes', value: d.failed as number }, 0),
      ];
    case 'worker-scale':
      return [
        // A step that moved no flow proved nothing about moving them.
        checkAtLeast({ ...base, name: 'scaling moved flows between workers', metric: 'steering buckets moved', value: d.bucketsMoved as number }, 1),
        checkAtMost({ ...base, name: 'nothing lost while workers come and go', metric: 'packets lost', value: run.aggregate.lost }, 0),
        { ...base, name: 'readers held during a scaling event', metric: 'longest hold ms', value: round(d.longestHoldMs as number), limit: 'none', pass: true, advisory: true },
      ];
  }
}

export const faults: Scenario = {
  name: 'faults',
  ignores: { streams: 'its streams are N', fanout: 'it runs the default hash fanout', ...SEARCH_OPTIONS , ...LADDER_OPTIONS },
  summary: 'worker kill, supervisor restart, link flap, link re-creation, rule churn and workers added and stopped under traffic; outage from sequence gaps',
  argName: 'streams',
  defaultSize: 4,
  maxSize: 100,
  presentation: { xTitle: 'fault', xLog: false, charts: ['outage', 'attribution'] },
  estimateRuns: (n, options) => countRuns(plan(n, options), options.repetitions),
  run: (n, ctx) => runPlans(plan(n, ctx.options), ctx),
  // Every repetition is checked on its own, and names itself when there are several.
  checks: (steps, options) => steps.flatMap((step) => step.runs.flatMap((run) => checksFor(step, run, options.repetitions > 1))),
};
