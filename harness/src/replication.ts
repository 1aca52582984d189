// One contender replicating one input group to K copies (RFC 3918's forwarding matrix): K output
// groups on one interface, or one group on K interfaces. One sink per copy, each joined on its
// copy's link to its copy's group only (a socket bound to the group, IP_MULTICAST_ALL off), so
// every copy is counted on its own: delivered, lost and duplicated per copy, from the sinks alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { createChain, type Chain } from '../../netns/topology.js';
import { endpoint } from '../../relay/src/api.js';
import type { RunningContender } from './contenders/types.js';
import { fitsOneFrame, runGenerator, type GenSummary } from './generator.js';
import { measure } from './measure.js';
import type { ReplicationMode, ReplicationRecord } from './replication-record.js';
import { startCopies, type Copy } from './replication-sides.js';
import { aggregate, type ContenderRun, type IgmpObservation } from './result.js';
import { startSink, type SinkSummary } from './sink.js';
import type { StepOptions } from './step.js';
import { planStreams } from './streams.js';

export { REPLICATION_MODES, type ReplicationMode } from './replication-record.js';

const SINK_IDLE_MS = 1000;
/** After the generator's last packet: time for the contender to forward what it still holds. */
const CPU_TAIL_MS = 100;

function copiesOf(chain: Chain, mode: ReplicationMode, k: number, rewrites: boolean, family: 4 | 6): Copy[] {
  const input = planStreams(1, family)[0];
  const outs = planStreams(k, family);
  return Array.from({ length: k }, (_, i) => {
    const link = chain.outputs[mode === 'interfaces' ? i : 0];
    // groups: K groups on the first link; interfaces: one group on each link. The kernel keeps the input group.
    const group = !rewrites ? input.inGroup : outs[mode === 'groups' ? i : 0].outGroup;
    return { relayOut: link.relayOut, sink: link.sink, group, port: input.outPort };
  });
}

/** The copies as one generator summary and one sink summary of K streams, so loss is measured and attributed per copy. */
function perCopy(gen: GenSummary, sinks: SinkSummary[], copies: Copy[]): { gen: GenSummary; sink: SinkSummary } {
  const g = gen.streams[0];
  const streams = copies.map((c, i) => ({ ...g, stream: i + 1, group: `${endpoint(c.group, c.port)} on ${c.sink.ifname}` }));
  const sinkStreams = sinks.map((s, i) => ({ ...s.streams[0], stream: i + 1 }));
  const sum = (pick: (s: SinkSummary) => number) => sinks.reduce((n, s) => n + pick(s), 0);
  return {
    gen: { ...gen, streams },
    sink: { ...sinks[0], streams: sinkStreams, foreign: sum((s) => s.foreign), unknownStream: sum((s) => s.unknownStream), overflowDrops: sum((s) => s.overflowDrops), datagrams: sum((s) => s.datagrams) },
  };
}

export async function runReplication(o: StepOptions, plan: { mode: ReplicationMode; copies: number }): Promise<ContenderRun> {
  const { contender } = o;
  const family = o.family ?? 4;
  const params = {
    mode: plan.mode, copies: plan.copies, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egress: o.egress, topology: o.topology, ratePps: o.ratePps, count: o.count, size: o.size, warmup: o.warmup, mtu: o.mtu ?? 1500,
    egressLimit: o.impairments.egressLimit ?? null, noIgmp: o.impairments.noIgmp ?? false, duplicatesInRepetition: o.impairments.duplicatesInRepetition ?? null,
  };
  // One line per contender and mode in charts and tables: relay/groups, socat/interfaces.
  const base = { contender: contender.name, series: `${o.series}/${plan.mode}`, ...(o.control ? { control: o.control } : {}), ...(o.exemptFromLoss ? { exemptFromLoss: o.exemptFromLoss } : {}), repetition: o.repetition, sinkJoined: contender.rewrites ? ('outputs' as const) : ('inputs' as const), params };
  const availability = await contender.available(family);
  if (!availability.ok) return { ...base, status: 'skipped', reason: availability.reason, ...(availability.kernelLacks ? { kernelLacks: true } : {}) };
  if (!contender.rewrites && plan.mode === 'groups') return { ...base, status: 'skipped', reason: `${contender.name} cannot rewrite a group: it sends one copy per output interface (measured in the interfaces mode)` };

  mkdirSync(o.logDir, { recursive: true });
  const input = planStreams(1, family)[0];
  let chain: Chain | undefined;
  try {
    chain = await createChain({ forwarding: contender.needsForwarding, topology: o.topology, mtu: o.mtu, family, outputs: plan.mode === 'interfaces' ? plan.copies : 1 });
    const copies = copiesOf(chain, plan.mode, plan.copies, contender.rewrites, family);
    if (o.impairments.egressLimit) {
      for (const link of new Set(copies.map((c) => c.relayOut))) await $`ip netns exec ${link.ns} tc qdisc add dev ${link.ifname} root tbf rate ${o.impairments.egressLimit} burst 16kbit latency 20ms`;
    }
    const running: RunningContender = await startCopies({ contender, chain, input, copies, logDir: o.logDir, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egress: o.egress, impairments: o.impairments });
    let gen: GenSummary | undefined;
    let sinkSummaries: SinkSummary[] = [];
    let igmp: IgmpObservation | undefined;
    let cpuSeconds: number | null = null;
    let report;
    try {
      if (chain.segment) {
        const started = Date.now();
        const joined = await chain.segment.waitForJoins([input.inGroup], 3000);
        igmp = { groups: 1, joined: joined.has(input.inGroup) ? 1 : 0, waitedMs: Date.now() - started, bridgeSettledMs: chain.segment.settledMs };
      }
      const sendSeconds = (o.count + o.warmup) / Math.max(o.ratePps, 1);
      const sinks = await Promise.all(copies.map((c) => startSink(c.sink.ns, { interface: c.sink.ifname, runId: o.runId, idleTimeoutMs: SINK_IDLE_MS, maxWaitMs: Math.ceil((sendSeconds + (o.drainSeconds ?? 30)) * 1000), streams: [endpoint(c.group, c.port)] })));
      try {
        const cpuBefore = running.cpuSeconds();
        gen = await runGenerator(chain.gen.ns, {
          interface: chain.gen.ifname, rate: o.ratePps, count: o.count, size: o.size, runId: o.runId, warmup: o.warmup, threads: 1, ttl: o.ttl, tos: o.tos,
          packet: fitsOneFrame(o.size, o.mtu ?? 1500, family),
          ...(o.impairments.duplicatesInRepetition === o.repetition ? { fault: 'dup:100' as const } : {}),
          streams: [endpoint(input.inGroup, input.inPort)],
        });
        await sleep(CPU_TAIL_MS);
        const cpuAfter = running.cpuSeconds();
        cpuSeconds = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
      } catch (err) {
        await Promise.all(sinks.map((s) => s.stop().catch(() => undefined)));
        throw err;
      }
      sinkSummaries = await Promise.all(sinks.map((s) => s.done));
    } finally {
      report = await running.stop();
    }
    writeFileSync(path.join(o.logDir, 'generator.json'), JSON.stringify(gen, null, 2));
    writeFileSync(path.join(o.logDir, 'sinks.json'), JSON.stringify(sinkSummaries, null, 2));
    const merged = perCopy(gen!, sinkSummaries, copies);
    // An input packet dropped at the contender's ingress is a lost packet for every copy.
    const records = measure(merged.gen, merged.sink, { ingressDrops: (report.ingressDrops ?? 0) * copies.length, egressErrors: report.egressErrors });
    const warmupDelivered = sinkSummaries.reduce((n, s) => n + s.streams[0].warmup, 0);
    const replication: ReplicationRecord = {
      mode: plan.mode,
      copies: copies.length,
      copiesSeen: sinkSummaries.filter((s) => s.streams[0].received + s.streams[0].warmup > 0).length,
      inputPps: gen!.measuredSeconds > 0 ? Math.max(0, gen!.streams[0].sent - 1) / gen!.measuredSeconds : 0,
      destinations: merged.gen.streams.map((s) => s.group),
    };
    return { ...base, status: 'ok', aggregate: aggregate(records, gen!.measuredSeconds, cpuSeconds, warmupDelivered), ...(igmp ? { igmp } : {}), replication, streams: records, report };
  } catch (err) {
    return { ...base, status: 'failed', reason: (err as Error).message };
  } finally {
    await chain?.destroy();
  }
}
