// One contender's group join delay and group leave delay (RFC 3918) on the snooping topology, with
// the traffic already flowing upstream for every group:
//   join:  request (timed) -> first packet of each group at the sink;
//   leave: removal or stop (timed) -> the last packet of each group on the contender's input link,
//          which shows when the bridge stopped sending it (the upstream bandwidth freed).
// The generator, the sink, the tap and this process read one CLOCK_MONOTONIC.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { createChain, type Chain } from '../../netns/topology.js';
import { bridgeLeaveTimers } from './bridge-timers.js';
import { startInputTap, TAP_FILTER } from './input-tap.js';
import { joinLeaveSide, type JoinLeaveSide } from './join-leave-contenders.js';
import { distribution, joinDelays, leaveDelays, type JoinMeasurement, type LeaveMeasurement } from './join-leave-record.js';
import { measure } from './measure.js';
import { aggregate, type ContenderRun, type IgmpObservation } from './result.js';
import type { SinkSummary } from './sink.js';
import { startBurden, type BurdenPlan, type RunningBurden } from './join-leave-burden.js';
import { startTraffic, type Traffic } from './join-leave-traffic.js';
import type { StepOptions } from './step.js';
import { planStreams, type StreamPlan } from './streams.js';

export interface JoinLeavePlan {
  /** mcrd --igmp-leave-delay for this run (relay only; 0: none). */
  leaveDelayMs: number;
  /**
   * Negative control of the leave gate: after the join the bridge gets a permanent membership of
   * every group on the contender's port, so no leave stops them (a relay that never left looks so).
   */
  pinGroups?: boolean;
  /** Forwarding-burdened join delay: groups the contender already forwards at load when the measured ones are asked for. */
  burden?: BurdenPlan;
}

/** After the join is acknowledged, how long the sink is watched: beyond the join gate's 1000 ms so a p99 near it is measured, not cut off. */
const JOIN_WATCH_MS = 2000;
/** The tap listens this long before the removal, so every group's packets before it are seen. */
const TAP_LEAD_MS = 200;
/** After the configured leave delay and the bridge's last-member time: room to see a late stop (and one that never comes). */
const LEAVE_MARGIN_MS = 1000;
const nowNs = () => Number(process.hrtime.bigint());
const since = (ns: number) => Math.round((nowNs() - ns) / 1e3) / 1e3;

async function timed(request: () => Promise<string>): Promise<{ what: string; requestNs: number; acknowledgedMs: number }> {
  const requestNs = nowNs();
  const what = await request();
  return { what, requestNs, acknowledgedMs: since(requestNs) };
}

async function measureLeave(o: StepOptions, chain: Chain, side: JoinLeaveSide, plan: JoinLeavePlan, traffic: Traffic, plans: StreamPlan[]): Promise<LeaveMeasurement> {
  const segment = chain.segment!;
  const bridge = await bridgeLeaveTimers(segment.ns, segment.bridge, segment.relayPort);
  const configuredDelayMs = o.contender.name === 'relay' ? plan.leaveDelayMs : 0;
  // The burden's IPv4 groups are left to the kernel's filter: tcpdump need not read them (IPv6 ones it reads and drops).
  const tap = await startInputTap(chain.relayIn.ns, chain.relayIn.ifname, o.runId, plan.burden && (o.family ?? 4) === 4 ? `${TAP_FILTER} and not dst net 239.3.0.0/16` : TAP_FILTER);
  await sleep(TAP_LEAD_MS);
  const { what, requestNs, acknowledgedMs } = await timed(() => side.leave(plans));
  const windowMs = acknowledgedMs + configuredDelayMs + bridge.lastMemberTimeMs + LEAVE_MARGIN_MS;
  await sleep(Math.max(0, windowMs - since(requestNs)));
  // The traffic stops at the window's end: a group still flowing then passed its very last packet.
  traffic.abort.abort();
  const gen = await traffic.gen;
  await tap.drained();
  const tapped = await tap.stop();
  // No warm-up here: a stream's sequence numbers run from 0 to sequenced - 1.
  const lastSeq = new Map(gen.streams.map((g) => [g.stream, g.sequenced - 1]));
  const perGroupMs = leaveDelays(plans.map((s) => tapped.streams.get(s.stream)), requestNs, plans.map((s) => lastSeq.get(s.stream) ?? 0));
  return {
    request: what, requestNs, acknowledgedMs, windowMs, configuredDelayMs, bridge, perGroupMs, distribution: distribution(perGroupMs),
    neverSeen: plans.filter((s) => !tapped.streams.has(s.stream)).length, resolutionMs: 1000 / o.ratePps, tapDrops: tapped.droppedByKernel, tapCommand: tapped.command,
  };
}

function joinMeasurement(sink: SinkSummary, join: Awaited<ReturnType<typeof timed>>, windowMs: number, ratePps: number): JoinMeasurement {
  const first = sink.streams.map((s) => s.firstArrivalNs);
  const perGroupMs = joinDelays(first, join.requestNs, windowMs);
  return {
    request: join.what, requestNs: join.requestNs, acknowledgedMs: join.acknowledgedMs, windowMs, perGroupMs, distribution: distribution(perGroupMs),
    arrivedBeforeRequest: first.filter((t) => t > 0 && t < join.requestNs).length, resolutionMs: 1000 / ratePps,
  };
}

/** The joined (temporary) memberships made permanent: the bridge keeps them whatever leaves. */
async function pinGroups(chain: Chain, plans: StreamPlan[]): Promise<void> {
  const { ns, bridge, relayPort } = chain.segment!;
  for (const p of plans) {
    await $`ip netns exec ${ns} bridge mdb del dev ${bridge} port ${relayPort} grp ${p.inGroup}`;
    await $`ip netns exec ${ns} bridge mdb add dev ${bridge} port ${relayPort} grp ${p.inGroup} permanent`;
  }
}

/** Join, then leave, on one fresh snooping topology; the ContenderRun carries both in joinLeave. */
export async function runJoinLeave(o: StepOptions, plan: JoinLeavePlan): Promise<ContenderRun> {
  const { contender } = o;
  const params = { streams: o.streams, ratePps: o.ratePps, size: o.size, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egress: o.egress, topology: o.topology, leaveDelayMs: contender.name === 'relay' ? plan.leaveDelayMs : 0, noIgmp: o.impairments.noIgmp ?? false };
  const base = { contender: contender.name, series: o.series, exemptFromLoss: 'join/leave delay: a group is not forwarded before its join nor after its leave, by design', repetition: o.repetition, sinkJoined: contender.rewrites ? ('outputs' as const) : ('inputs' as const), params };
  const availability = await contender.available(o.family ?? 4);
  if (!availability.ok) return { ...base, status: 'skipped', reason: availability.reason, ...(availability.kernelLacks ? { kernelLacks: true } : {}) };
  if (o.topology !== 'snooping') return { ...base, status: 'failed', reason: 'join and leave delay need --topology snooping: on plain veth every group arrives unasked' };
  mkdirSync(o.logDir, { recursive: true });
  const plans = planStreams(o.streams, o.family ?? 4);
  let chain: Chain | undefined;
  try {
    chain = await createChain({ forwarding: contender.needsForwarding, bridge: o.bridge, topology: 'snooping', mtu: o.mtu, family: o.family ?? 4 });
    const side = await joinLeaveSide({ contender, chain, logDir: o.logDir, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egress: o.egress, impairments: o.impairments, leaveDelayMs: plan.leaveDelayMs });
    return { ...base, ...(await measureBoth(o, chain, side, plan, plans)) };
  } catch (err) {
    return { ...base, status: 'failed', reason: (err as Error).message };
  } finally {
    await chain?.destroy();
  }
}

async function measureBoth(o: StepOptions, chain: Chain, side: JoinLeaveSide, plan: JoinLeavePlan, plans: StreamPlan[]): Promise<Pick<ContenderRun, 'status' | 'aggregate' | 'igmp' | 'streams' | 'report' | 'joinLeave'>> {
  let traffic: Traffic | undefined;
  let burden: RunningBurden | undefined;
  try {
    if (plan.burden) burden = await startBurden(o, chain, side, plan.burden);
    traffic = await startTraffic(o, chain, plans, { runId: o.runId, ratePps: o.ratePps, label: '' });
    const join = await timed(() => side.join(plans));
    await sleep(JOIN_WATCH_MS);
    const windowMs = since(join.requestNs);
    const joined = await chain.segment!.joinedGroups();
    const igmp: IgmpObservation = { groups: plans.length, joined: plans.filter((p) => joined.has(p.inGroup)).length, waitedMs: Math.round(windowMs), bridgeSettledMs: chain.segment!.settledMs };
    if (plan.pinGroups) await pinGroups(chain, plans);
    const leave = await measureLeave(o, chain, side, plan, traffic, plans);
    const gen = await traffic.gen;
    const sink = await traffic.sink.stop();
    const burdened = await burden?.stop();
    const report = await side.finish();
    writeFileSync(path.join(o.logDir, 'generator.json'), JSON.stringify(gen, null, 2));
    writeFileSync(path.join(o.logDir, 'sink.json'), JSON.stringify(sink, null, 2));
    const records = measure(gen, sink, { ingressDrops: report.ingressDrops, egressErrors: report.egressErrors });
    const joinLeave = { join: joinMeasurement(sink, join, windowMs, o.ratePps), leave, ...(burdened ? { burden: burdened } : {}) };
    return { status: 'ok', aggregate: aggregate(records, gen.measuredSeconds, null), igmp, streams: records, report: { ...report, commands: [...report.commands, leave.tapCommand] }, joinLeave };
  } finally {
    traffic?.abort.abort();
    await traffic?.sink.stop().catch(() => undefined);
    await burden?.stop().catch(() => undefined);
    await side.finish().catch(() => undefined);
  }
}
