// join-leave: RFC 3918 group join delay and group leave delay on the snooping topology, for 1, 10,
// 100 and 1000 groups asked for at once (up to N), relay vs socat vs kernel; the same at up to 100
// groups while each contender already forwards 10 other groups at 3000 packets/s each
// (forwarding-burdened join delay); then the relay alone with --igmp-leave-delay, whose leave must
// track the configured delay.
import { runJoinLeave } from '../harness/src/join-leave.js';
import { countRuns, runPlans, SEARCH_OPTIONS, type Scenario, type ScenarioOptions, type StepPlan } from './scenario.js';

const LADDER = [1, 10, 100, 1000];
/** Packets/s over all groups by default (--aggregate-rate): per-group rate, and so resolution, fall as groups grow, the load does not. */
const DEFAULT_AGGREGATE_PPS = 20_000;
/** The relay's --igmp-leave-delay in the leave-delay step: half the bridge's default last-member time, so each is visible in the sum. */
export const LEAVE_DELAY_MS = 1000;
/** Groups of the leave-delay step (at most N). */
const LEAVE_DELAY_GROUPS = 10;
/** Forwarding-burdened join delay: groups already forwarded at load while min(N, 100) others are asked for (30,000 packets/s, beside the measured groups' 20,000 at most). */
export const BURDEN = { groups: 10, ratePps: 3000 };
const BURDENED_GROUPS = 100;

function groupSteps(n: number, only?: number[]): number[] {
  if (only) return [...new Set(only.filter((s) => s <= n))].sort((a, b) => a - b);
  return [...new Set([...LADDER.filter((s) => s < n), n])];
}

/** Per-group rate: --rate, lowered so that all groups together send at most the aggregate rate. */
function rateFor(groups: number, options: ScenarioOptions): number {
  return Math.max(1, Math.min(options.ratePps, Math.floor((options.aggregateRatePps ?? DEFAULT_AGGREGATE_PPS) / groups)));
}

function plan(n: number, options: ScenarioOptions): StepPlan[] {
  const step = (name: string, groups: number, leaveDelayMs: number, contenders: StepPlan['contenders'], burden?: typeof BURDEN): StepPlan => ({
    step: name,
    x: groups,
    streams: groups,
    ratePps: rateFor(groups, options),
    workers: options.workers,
    fanout: options.fanout,
    contenders,
    params: { groups, leaveDelayMs, ratePps: rateFor(groups, options), ...(burden ? { burdenGroups: burden.groups, burdenRatePps: burden.ratePps } : {}) },
    runner: (o) => runJoinLeave(o, { leaveDelayMs, ...(burden ? { burden } : {}) }),
  });
  const ladder = groupSteps(n, options.steps).map((g) => step(String(g), g, 0, options.contenders));
  const delayed = Math.min(n, LEAVE_DELAY_GROUPS);
  const withDelay = options.contenders.includes('relay') ? [step(`${delayed} leave-delay ${LEAVE_DELAY_MS}`, delayed, LEAVE_DELAY_MS, ['relay'])] : [];
  const burdened = Math.min(n, BURDENED_GROUPS);
  // Not the kernel: its burden and its measured groups would need two smcrouted in one namespace,
  // which has one multicast routing socket; adding routes to a running one (smcroutectl) is not built.
  const burdenable = options.contenders.filter((c) => c !== 'kernel');
  const withBurden = burdenable.length ? [step(`${burdened} burdened ${BURDEN.groups}×${BURDEN.ratePps}`, burdened, 0, burdenable, BURDEN)] : [];
  return [...ladder, ...withBurden, ...withDelay];
}

export const joinLeave: Scenario = {
  name: 'join-leave',
  ignores: {
    streams: 'its groups are N',
    count: 'it sends until both delays are measured',
    warmup: 'it sends no warm-up: the first packet of a group is what it measures',
    egressLimit: 'its negative controls are --no-igmp and a pinned membership (test/integration/join-leave.test.ts)',
    relayCpuLimit: 'its negative controls are --no-igmp and a pinned membership (test/integration/join-leave.test.ts)',
    injectDuplicates: 'its negative controls are --no-igmp and a pinned membership (test/integration/join-leave.test.ts)',
    crossWire: 'its negative controls are --no-igmp and a pinned membership (test/integration/join-leave.test.ts)',
    cpus: 'its contenders are started by its own runner, which places nothing yet',
    ...SEARCH_OPTIONS,
  },
  summary: `group join delay (request -> first packet at the sink) and leave delay (removal -> last packet on the input link), ${LADDER.join(', ')} groups up to N (or --steps); relay vs socat vs kernel, and the relay with --igmp-leave-delay ${LEAVE_DELAY_MS}`,
  argName: 'groups',
  defaultSize: 100,
  maxSize: 1000,
  presentation: { xTitle: 'groups', xLog: true, charts: ['join-delay-cdf', 'leave-delay'] },
  estimateRuns: (n, options) => countRuns(plan(n, options), options.repetitions),
  run: (n, ctx) => runPlans(plan(n, ctx.options), ctx),
};
