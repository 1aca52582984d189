// Forwarding-burdened join delay (RFC 3918): the contender already forwards other groups at load
// when the measured groups are asked for. The burden's groups are 239.3.x.y in and 239.4.x.y out
// (ff15::3:n / ff15::4:n), apart from the measured ones, with their own run id, generator and sink.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Chain } from '../../netns/topology.js';
import type { JoinLeaveSide } from './join-leave-contenders.js';
import { startTraffic, stopTraffic, type Traffic } from './join-leave-traffic.js';
import type { StepOptions } from './step.js';
import { planStreams, type StreamPlan } from './streams.js';
import type { BurdenPlan, BurdenRecord } from './join-leave-record.js';

export type { BurdenPlan, BurdenRecord } from './join-leave-record.js';

/** Their first packets reach the sink well within this after the burden's own join. */
const SETTLE_MS = 1000;
/** Its own run id: the measured traffic's sink and tap never count it. */
const RUN_ID_OFFSET = 7;

function burdenStreams(n: number, family: 4 | 6): StreamPlan[] {
  const move = (group: string, from: number, to: number) => (family === 6 ? group.replace(`ff15::${from}:`, `ff15::${to}:`) : group.replace(`239.${from}.`, `239.${to}.`));
  return planStreams(n, family).map((s) => ({ ...s, inGroup: move(s.inGroup, 1, 3), outGroup: move(s.outGroup, 2, 4) }));
}

export interface RunningBurden {
  streams: StreamPlan[];
  stop(): Promise<BurdenRecord>;
}

/** Starts the burden's traffic, has the contender join it (untimed), and waits until it flows through. */
export async function startBurden(o: StepOptions, chain: Chain, side: JoinLeaveSide, plan: BurdenPlan): Promise<RunningBurden> {
  const streams = burdenStreams(plan.groups, o.family ?? 4);
  const traffic: Traffic = await startTraffic(o, chain, streams, { runId: o.runId + RUN_ID_OFFSET, ratePps: plan.ratePps, label: 'burden-' });
  try {
    await side.join(streams);
    await sleep(SETTLE_MS);
  } catch (err) {
    await stopTraffic(traffic).catch(() => undefined);
    throw err;
  }
  return {
    streams,
    async stop() {
      const { gen, sink } = await stopTraffic(traffic);
      // Every stream's run before its join starts at sequence 0: one gap each, not an interruption.
      const gapsAfterJoin = sink.streams.reduce((n, s) => n + Math.max(0, s.gaps - (s.unique > 0 ? 1 : 0)), 0);
      return { ...plan, sent: gen.totalSent, delivered: sink.streams.reduce((n, s) => n + s.unique, 0), gapsAfterJoin };
    },
  };
}
