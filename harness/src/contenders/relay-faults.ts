// Faults only the relay can take: a worker killed, the supervisor killed and restarted from its
// state file, rules changed at a steady rate beside the traffic, workers added and stopped.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuleWithStats, WorkerInfo, WorkerStats } from '../../../relay/src/api.js';
import type { FaultDetail, FaultPlan } from '../fault-plan.js';
import type { RunningMcrd } from '../mcrd.js';
import { type Family } from '../streams.js';

const WAIT_MS = 10_000;

/** Stream numbers of rules named s<N> (as the relay contender names them). */
const streamOf = (rule: { name?: string }) => Number(rule.name?.slice(1));

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
    await sleep(10);
  }
}

/**
 * SIGKILL the worker carrying the most streams (the kernel's flow hash may leave one with none, and
 * killing that one would test nothing); the streams it carried and those it did not.
 */
async function killWorker(mcrd: RunningMcrd): Promise<FaultDetail> {
  const stats = await mcrd.client.request<{ workers: WorkerStats[]; rules: RuleWithStats[] }>('stats');
  const carriedBy = (w: WorkerStats) => w.stats?.rules.filter((r) => r.packets > 0).length ?? 0;
  const victim = stats.workers.filter((w) => w.pid !== null && w.stats).sort((a, b) => carriedBy(b) - carriedBy(a))[0];
  if (!victim?.pid || !victim.stats) throw new Error('worker-kill: no running worker');
  if (carriedBy(victim) === 0) throw new Error('worker-kill: no worker carries a stream yet');
  const nameOf = new Map(stats.rules.map((r) => [r.id, r]));
  const carried = new Set(victim.stats.rules.filter((r) => r.packets > 0).map((r) => streamOf(nameOf.get(r.id) ?? {})));
  const all = stats.rules.map(streamOf);
  const killedAt = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  await until(`worker-kill: worker #${victim.index} running again`, async () => {
    const { workers } = await mcrd.client.request<{ workers: WorkerInfo[] }>('workers');
    const w = workers.find((x) => x.index === victim.index && x.interface === victim.interface);
    return w && w.state === 'running' && w.pid !== victim.pid ? w : undefined;
  });
  return { killedPid: victim.pid, killedStreams: all.filter((s) => carried.has(s)), otherStreams: all.filter((s) => !carried.has(s)), restartedMs: Date.now() - killedAt };
}

/** SIGKILL mcrd itself (no shutdown code runs), start it again with the same flags and state file. */
async function restartSupervisor(mcrd: RunningMcrd, restart: () => Promise<RunningMcrd>): Promise<FaultDetail> {
  const rulesBefore = (await mcrd.client.request<{ rules: unknown[] }>('list')).rules.length;
  const killedAt = Date.now();
  process.kill(mcrd.pid, 'SIGKILL');
  await until('supervisor-restart: mcrd gone', async () => mcrd.exitNote());
  mcrd.client.close();
  const next = await restart();
  const rulesAfter = (await next.client.request<{ rules: unknown[] }>('list')).rules.length;
  return { rulesBefore, rulesAfter, restartedMs: Date.now() - killedAt };
}

/** Groups without traffic for the churned rules, of the run's family. */
const churnGroups = (family: Family) =>
  family === 6 ? { input: (n: number) => `ff15::250:${n.toString(16)}`, output: 'ff15::251:1' } : { input: (n: number) => `239.250.${(n >> 8) & 255}.${n & 255}`, output: '239.251.0.1' };

/** Adds and removes rules of groups without traffic, pipelined, at changesPerSecond for durationMs. */
async function churnRules(mcrd: RunningMcrd, plan: FaultPlan, input: string, output: string, family: Family): Promise<FaultDetail> {
  const groups = churnGroups(family);
  const durationMs = plan.durationMs ?? 2000;
  const perTick = Math.max(1, Math.round(((plan.changesPerSecond ?? 200) * 20) / 1000));
  const pending: Promise<unknown>[] = [];
  let changes = 0;
  let failed = 0;
  const started = Date.now();
  for (let i = 0; Date.now() - started < durationMs; ) {
    for (let k = 0; k < perTick; k++, i++) {
      const n = i >> 1;
      const request =
        i % 2 === 0
          ? mcrd.client.request('add', { rule: { name: `churn${n}`, inputInterface: input, inputGroup: groups.input(n), inputPort: 7000, outputs: [{ group: groups.output, port: 7000, interface: output }] } })
          : mcrd.client.request('remove', { name: `churn${n}` });
      pending.push(request.then(() => changes++, () => failed++));
    }
    await sleep(20);
  }
  await Promise.all(pending);
  const seconds = (Date.now() - started) / 1000;
  return { changes, failed, changesPerSecond: Math.round(changes / seconds) };
}

type ScalingReply = { events: { moved: number; heldMs: number }[] };

/** Adds plan.addWorkers workers to the input interface, and after durationMs stops them again. */
async function scaleWorkers(mcrd: RunningMcrd, plan: FaultPlan, input: string): Promise<FaultDetail> {
  const { workers } = await mcrd.client.request<{ workers: WorkerInfo[] }>('workers');
  const from = workers.filter((w) => w.interface === input).length;
  const peak = from + (plan.addWorkers ?? 2);
  const up = await mcrd.client.request<ScalingReply>('set-workers', { interface: input, count: peak });
  await sleep(plan.durationMs ?? 1500);
  const down = await mcrd.client.request<ScalingReply>('set-workers', { interface: input, count: from });
  const events = [...up.events, ...down.events];
  return { from, peak, events: events.length, bucketsMoved: events.reduce((n, e) => n + e.moved, 0), longestHoldMs: Math.max(0, ...events.map((e) => e.heldMs)) };
}

export function relayFaults(current: () => RunningMcrd, restart: () => Promise<RunningMcrd>, input: string, output: string, family: Family) {
  return async (plan: FaultPlan): Promise<FaultDetail> => {
    switch (plan.kind) {
      case 'worker-kill':
        return killWorker(current());
      case 'supervisor-restart':
        return restartSupervisor(current(), restart);
      case 'rule-churn':
        return churnRules(current(), plan, input, output, family);
      case 'worker-scale':
        return scaleWorkers(current(), plan, input);
      default:
        throw new Error(`relay cannot take fault '${plan.kind}' itself`);
    }
  };
}
