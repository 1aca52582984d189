// Traffic for join and leave delay: a sink watching a set of groups and a generator sending them
// all the time (duration mode), both stopped by the caller. Silence is the measurement here, not
// the end of traffic, so neither stops by itself.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Chain } from '../../netns/topology.js';
import { endpoint } from '../../relay/src/api.js';
import { fitsOneFrame, runGenerator, type GenSummary } from './generator.js';
import { startSink, type RunningSink } from './sink.js';
import type { StepOptions } from './step.js';
import type { StreamPlan } from './streams.js';

/** The generator starts sending ~1 ms after it starts (mcr-gen); this covers starting the process. */
const FLOWING_MS = 300;
/** mcr-gen sends this long at most; the caller stops it as soon as its measurement is done. */
const GEN_SECONDS = 3600;
const INLINE_STREAMS = 50;
const NEVER_MS = 3_600_000;

export interface Traffic {
  sink: RunningSink;
  gen: Promise<GenSummary>;
  abort: AbortController;
}

function streamList(list: string[], file: string): { streams: string[]; streamsFile?: string } {
  if (list.length <= INLINE_STREAMS) return { streams: list };
  writeFileSync(file, list.join('\n') + '\n');
  return { streams: list, streamsFile: file };
}

/** Starts the sink on the groups the contender delivers, then the generator on the input groups; resolves once traffic flows upstream. */
export async function startTraffic(o: StepOptions, chain: Chain, plans: StreamPlan[], how: { runId: number; ratePps: number; label: string }): Promise<Traffic> {
  const sinkStreams = plans.map((p) => (o.contender.rewrites ? endpoint(p.outGroup, p.outPort) : endpoint(p.inGroup, p.inPort)));
  const sink = await startSink(chain.sink.ns, { interface: chain.sink.ifname, runId: how.runId, idleTimeoutMs: NEVER_MS, maxWaitMs: NEVER_MS, ...streamList(sinkStreams, path.join(o.logDir, `${how.label}sink-streams.txt`)) });
  const abort = new AbortController();
  const gen = runGenerator(chain.gen.ns, {
    interface: chain.gen.ifname, rate: how.ratePps, duration: GEN_SECONDS, size: o.size, runId: how.runId, warmup: 0, threads: o.threads, ttl: o.ttl, tos: o.tos,
    packet: fitsOneFrame(o.size, o.mtu ?? 1500, o.family ?? 4), signal: abort.signal,
    ...streamList(plans.map((p) => endpoint(p.inGroup, p.inPort)), path.join(o.logDir, `${how.label}gen-streams.txt`)),
  });
  gen.catch(() => undefined); // awaited by the caller
  await sleep(FLOWING_MS);
  return { sink, gen, abort };
}

/** Stops both (generator first) and returns what each counted. */
export async function stopTraffic(t: Traffic): Promise<{ gen: GenSummary; sink: Awaited<RunningSink['done']> }> {
  t.abort.abort();
  const gen = await t.gen;
  return { gen, sink: await t.sink.stop() };
}
