// One contender on one scenario step: fresh topology, sink, contender, IGMP joins seen by the
// snooping bridge, generator, counts, teardown.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { createChain, type Chain, type Topology } from '../../netns/topology.js';
import type { Contender, Impairments, RunningContender } from './contenders/types.js';
import { type EgressMode, endpoint, type IngressMode } from '../../relay/src/api.js';
import { injectFault, type FaultPlan, type FaultRecord } from './faults.js';
import { fitsOneFrame, profileSeconds, runGenerator, type GenOptions, type RateStep } from './generator.js';
import { measure, windowedTail } from './measure.js';
import { aggregate, type ContenderRun, type IgmpObservation } from './result.js';
import { startSink, type SinkOptions, type SinkProgress } from './sink.js';
import { startTimeline, type Timeline, type TimelineSample } from './timeline.js';
import { planStreams, type Family, type StreamPlan } from './streams.js';
import type { CpuPlacement } from './placement.js';

export interface StepOptions {
  contender: Contender;
  /** Label of the run in reports (see ContenderRun.series). */
  series: string;
  /** Why this run is a planned negative control, if it is one. */
  control?: string;
  /** Why loss is expected in this run, if it is. */
  exemptFromLoss?: string;
  /** Sample the contender's resources and the sink's counts this often (soak). */
  sampleSeconds?: number;
  /** Total rates in steps instead of ratePps and count. */
  profile?: RateStep[];
  /** mcrd flags after the harness's own (the last of a repeated flag wins). */
  relayFlags?: string[];
  /** A fault to inject while the traffic flows. */
  fault?: FaultPlan;
  /** How long the sink may still receive after the generator's schedule ends (default 30 s). */
  drainSeconds?: number;
  streams: number;
  /** Per-stream packets/s. */
  ratePps: number;
  /** Measured packets per stream (after warm-up). */
  count: number;
  size: number;
  warmup: number;
  workers: number;
  fanout: string;
  ingress: IngressMode;
  egress: EgressMode;
  bridge: boolean;
  mtu?: number;
  /** IP TTL and TOS the generator sends with (defaults 8 and 0). */
  ttl?: number;
  tos?: number;
  topology: Topology;
  /** IP version of the streams (default 4). */
  family?: Family;
  /** Generator sender threads. */
  threads: number;
  impairments: Impairments;
  /** Cores for the contender, the generator and the sink (--cpus). */
  cpus?: CpuPlacement;
  runId: number;
  repetition: number;
  logDir: string;
}

/** Lists longer than this go through a file rather than the command line. */
const INLINE_STREAMS = 50;
const SINK_IDLE_MS = 1000;
/** mcr-sink's longest idle timeout: in effect none (its max wait still applies). */
const SINK_NO_IDLE_MS = 3_600_000;
/** After the generator's last packet: time for the contender to forward what it still holds. */
const CPU_TAIL_MS = 100;

function streamArg(list: string[], file: string): { streams: string[]; streamsFile?: string } {
  if (list.length <= INLINE_STREAMS) return { streams: list };
  writeFileSync(file, list.join('\n') + '\n');
  return { streams: list, streamsFile: file };
}

/** Waits (bounded) until the snooping bridge lists every input group behind the contender's port. */
async function observeJoins(chain: Chain, groups: string[]): Promise<IgmpObservation | undefined> {
  if (!chain.segment) return undefined;
  const started = Date.now();
  const joined = await chain.segment.waitForJoins(groups, 3000 + 5 * groups.length);
  return { groups: groups.length, joined: groups.filter((g) => joined.has(g)).length, waitedMs: Date.now() - started, bridgeSettledMs: chain.segment.settledMs };
}

/** Waits until plan.atSeconds after the generator started, then carries the fault out and times it. */
async function injectDuring(plan: FaultPlan, chain: Chain, running: RunningContender, contender: string, genStarted: number): Promise<FaultRecord> {
  await sleep(Math.max(0, genStarted + plan.atSeconds * 1000 - Date.now()));
  const started = Date.now();
  const detail = await injectFault(plan, chain, running, contender);
  return { kind: plan.kind, startedMs: started - genStarted, tookMs: Date.now() - started, detail };
}

/** The step's parameters as result.json records them: what a reader needs to run it again. */
function stepParams(o: StepOptions): Record<string, unknown> {
  return {
    streams: o.streams, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egress: o.egress, topology: o.topology, ratePps: o.ratePps, count: o.count, size: o.size, warmup: o.warmup, threads: o.threads, mtu: o.mtu ?? 1500, ttl: o.ttl ?? 8, tos: o.tos ?? 0,
    egressLimit: o.impairments.egressLimit ?? null, noIgmp: o.impairments.noIgmp ?? false, relayCpuLimit: o.impairments.relayCpuLimit ?? null,
    duplicatesInRepetition: o.impairments.duplicatesInRepetition ?? null, crossWire: o.impairments.crossWire ?? false, relaySlowSendUs: o.impairments.relaySlowSendUs ?? null,
    ...(o.profile ? { profile: o.profile.map((s) => `${s.seconds}:${s.ratePps}`).join(',') } : {}), ...(o.relayFlags ? { relayFlags: o.relayFlags.join(' ') } : {}),
    ...(o.cpus ? { cpus: Object.entries(o.cpus).map(([role, list]) => `${role}=${list}`).join(',') } : {}),
  };
}

/** The sink of a step: every output group (every input group where the contender does not rewrite). */
function sinkOptions(o: StepOptions, chain: Chain, plans: StreamPlan[], onProgress: (p: SinkProgress) => void): SinkOptions {
  const sinkStreams = plans.map((p) => (o.contender.rewrites ? endpoint(p.outGroup, p.outPort) : endpoint(p.inGroup, p.inPort)));
  const sendSeconds = o.profile ? profileSeconds(o.profile) + o.warmup / Math.max(o.profile[0].ratePps / o.streams, 1) : (o.count + o.warmup) / Math.max(o.ratePps, 1);
  return {
    interface: chain.sink.ifname,
    runId: o.runId,
    // Under a fault a silence is the outage being measured, not the end of the traffic: the
    // sink then runs until stopped, never ending early and counting the rest as lost.
    idleTimeoutMs: o.fault ? SINK_NO_IDLE_MS : SINK_IDLE_MS,
    maxWaitMs: Math.ceil((sendSeconds + (o.drainSeconds ?? 30)) * 1000),
    ...(o.sampleSeconds ? { progressMs: o.sampleSeconds * 1000, onProgress } : {}),
    ...streamArg(sinkStreams, path.join(o.logDir, 'sink-streams.txt')),
    cpus: o.cpus?.sink,
  };
}

/** The generator of a step: every input group, with the step's rate, size, marks and planned duplicates. */
function generatorOptions(o: StepOptions, chain: Chain, plans: StreamPlan[]): GenOptions {
  return {
    interface: chain.gen.ifname,
    rate: o.ratePps,
    count: o.count,
    ...(o.profile ? { profile: o.profile } : {}),
    size: o.size,
    runId: o.runId,
    warmup: o.warmup,
    threads: o.threads,
    ttl: o.ttl,
    tos: o.tos,
    packet: fitsOneFrame(o.size, o.mtu ?? 1500, o.family ?? 4),
    cpus: o.cpus?.generator,
    ...(o.impairments.duplicatesInRepetition === o.repetition ? { fault: 'dup:100' } : {}),
    ...streamArg(plans.map((p) => endpoint(p.inGroup, p.inPort)), path.join(o.logDir, 'gen-streams.txt')),
  };
}

export async function runContenderStep(o: StepOptions): Promise<ContenderRun> {
  const { contender } = o;
  const params = stepParams(o);
  const base = { contender: contender.name, series: o.series, ...(o.control ? { control: o.control } : {}), ...(o.exemptFromLoss ? { exemptFromLoss: o.exemptFromLoss } : {}), repetition: o.repetition, sinkJoined: contender.rewrites ? ('outputs' as const) : ('inputs' as const), params };
  const availability = await contender.available(o.family ?? 4);
  if (!availability.ok) return { ...base, status: 'skipped', reason: availability.reason, ...(availability.kernelLacks ? { kernelLacks: true } : {}) };

  mkdirSync(o.logDir, { recursive: true });
  const family = o.family ?? 4;
  const plans = planStreams(o.streams, family);
  let chain: Chain | undefined;
  try {
    chain = await createChain({ forwarding: contender.needsForwarding, bridge: o.bridge, topology: o.topology, mtu: o.mtu, family });
    if (o.impairments.egressLimit) {
      await $`ip netns exec ${chain.relayOut.ns} tc qdisc add dev ${chain.relayOut.ifname} root tbf rate ${o.impairments.egressLimit} burst 16kbit latency 20ms`;
    }
    const running = await contender.start({ chain, streams: plans, logDir: o.logDir, workers: o.workers, ...(o.relayFlags ? { relayFlags: o.relayFlags } : {}), fanout: o.fanout, ingress: o.ingress, egress: o.egress, impairments: o.impairments, cpus: o.cpus?.contender });
    let report;
    let gen;
    let sinkSummary;
    let igmp: IgmpObservation | undefined;
    let cpuSeconds: number | null = null;
    let fault: FaultRecord | undefined;
    let timeline: Timeline | undefined;
    let samples: TimelineSample[] | undefined;
    let contenderCpus: string[] | undefined;
    try {
      igmp = await observeJoins(chain, plans.map((p) => p.inGroup));
      const sink = await startSink(chain.sink.ns, sinkOptions(o, chain, plans, (p) => timeline?.onProgress(p)));
      try {
        const cpuBefore = running.cpuSeconds();
        const genStarted = Date.now();
        if (o.sampleSeconds) timeline = startTimeline(running, o.sampleSeconds);
        const faultDone = o.fault ? injectDuring(o.fault, chain, running, contender.name, genStarted) : undefined;
        faultDone?.catch(() => undefined); // awaited below, after the traffic: not an unhandled rejection meanwhile
        gen = await runGenerator(chain.gen.ns, generatorOptions(o, chain, plans));
        fault = await faultDone;
        samples = await timeline?.stop();
        await sleep(CPU_TAIL_MS);
        const cpuAfter = running.cpuSeconds();
        contenderCpus = running.cpuLists?.();
        cpuSeconds = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
      } catch (err) {
        void timeline?.stop();
        await sink.stop().catch(() => undefined);
        throw err;
      }
      if (o.fault) await sleep(SINK_IDLE_MS);
      sinkSummary = await (o.fault ? sink.stop() : sink.done);
    } finally {
      report = await running.stop();
    }
    writeFileSync(path.join(o.logDir, 'generator.json'), JSON.stringify(gen, null, 2));
    writeFileSync(path.join(o.logDir, 'sink.json'), JSON.stringify(sinkSummary, null, 2));
    const records = measure(gen, sinkSummary, { ingressDrops: report.ingressDrops, egressErrors: report.egressErrors });
    const tail = windowedTail(sinkSummary.latencyWindows);
    const totals = { ...aggregate(records, gen.measuredSeconds, cpuSeconds, sinkSummary.streams.reduce((n, s) => n + s.warmup, 0)), ...(tail ? { windowedTail: tail } : {}) };
    const placement = { ...(contenderCpus ? { contender: contenderCpus } : {}), generator: gen.cpus, sink: sinkSummary.cpus };
    return { ...base, status: 'ok', aggregate: totals, placement, ...(igmp ? { igmp } : {}), ...(fault ? { fault } : {}), ...(samples ? { timeline: samples } : {}), streams: records, report };
  } catch (err) {
    return { ...base, status: 'failed', reason: (err as Error).message };
  } finally {
    await chain?.destroy();
  }
}
