// One contender on one scenario step: fresh topology, sink, contender, generator, counts, teardown.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nsRun } from '../../netns/exec.js';
import { createChain } from '../../netns/topology.js';
import type { Contender } from './contenders/types.js';
import type { IngressMode } from '../../relay/src/native.js';
import { runGenerator } from './generator.js';
import { measure } from './measure.js';
import { aggregate, type ContenderRun } from './result.js';
import { startSink } from './sink.js';
import { planStreams } from './streams.js';

export interface StepOptions {
  contender: Contender;
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
  bridge: boolean;
  /** Rate-limit the relay namespace's output link (tc tbf, e.g. '2mbit'): a deliberate impairment. */
  egressLimit?: string;
  runId: number;
  repetition: number;
  logDir: string;
}

/** Lists longer than this go through a file rather than the command line. */
const INLINE_STREAMS = 50;
const SINK_IDLE_MS = 1000;

function streamArg(list: string[], file: string): { streams: string[]; streamsFile?: string } {
  if (list.length <= INLINE_STREAMS) return { streams: list };
  writeFileSync(file, list.join('\n') + '\n');
  return { streams: list, streamsFile: file };
}

export async function runContenderStep(o: StepOptions): Promise<ContenderRun> {
  const { contender } = o;
  const params = { streams: o.streams, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egressLimit: o.egressLimit ?? null, ratePps: o.ratePps, count: o.count, size: o.size, warmup: o.warmup };
  const base = { contender: contender.name, repetition: o.repetition, sinkJoined: contender.rewrites ? ('outputs' as const) : ('inputs' as const), params };
  const availability = await contender.available();
  if (!availability.ok) return { ...base, status: 'skipped', reason: availability.reason };

  mkdirSync(o.logDir, { recursive: true });
  const plans = planStreams(o.streams);
  const chain = await createChain({ forwarding: contender.needsForwarding, bridge: o.bridge });
  try {
    if (o.egressLimit) {
      await nsRun(chain.relayOut.ns, 'tc', ['qdisc', 'add', 'dev', chain.relayOut.ifname, 'root', 'tbf', 'rate', o.egressLimit, 'burst', '16kbit', 'latency', '20ms']);
    }
    const running = await contender.start({ chain, streams: plans, logDir: o.logDir, workers: o.workers, fanout: o.fanout, ingress: o.ingress });
    let report;
    let gen;
    let sinkSummary;
    try {
      const sinkStreams = plans.map((p) => (contender.rewrites ? `${p.outGroup}:${p.outPort}` : `${p.inGroup}:${p.inPort}`));
      const sendSeconds = (o.count + o.warmup) / Math.max(o.ratePps, 1);
      const sink = await startSink(chain.sink.ns, {
        interface: chain.sink.ifname,
        runId: o.runId,
        idleTimeoutMs: SINK_IDLE_MS,
        maxWaitMs: Math.ceil((sendSeconds + 30) * 1000),
        ...streamArg(sinkStreams, path.join(o.logDir, 'sink-streams.txt')),
      });
      try {
        gen = await runGenerator(chain.gen.ns, {
          interface: chain.gen.ifname,
          rate: o.ratePps,
          count: o.count,
          size: o.size,
          runId: o.runId,
          warmup: o.warmup,
          ...streamArg(plans.map((p) => `${p.inGroup}:${p.inPort}`), path.join(o.logDir, 'gen-streams.txt')),
        });
      } catch (err) {
        await sink.stop().catch(() => undefined);
        throw err;
      }
      sinkSummary = await sink.done;
    } finally {
      report = await running.stop();
    }
    writeFileSync(path.join(o.logDir, 'generator.json'), JSON.stringify(gen, null, 2));
    writeFileSync(path.join(o.logDir, 'sink.json'), JSON.stringify(sinkSummary, null, 2));
    const records = measure(gen, sinkSummary, { ingressDrops: report.ingressDrops, egressErrors: report.egressErrors });
    const first = Math.min(...gen.streams.map((s) => s.firstSendNs).filter((n) => n > 0));
    const last = Math.max(...gen.streams.map((s) => s.lastSendNs));
    const sendSeconds = last > first ? (last - first) / 1e9 : 0;
    return { ...base, status: 'ok', aggregate: aggregate(records, sendSeconds, report.cpuSeconds), streams: records, report };
  } catch (err) {
    return { ...base, status: 'failed', reason: (err as Error).message };
  } finally {
    await chain.destroy();
  }
}
