// What the relay's integration tests share: a chain with mcrd in its relay namespace, a rule per
// planned stream, and a counted run of traffic through it.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createChain, type Chain, type ChainOptions } from '../../netns/topology.js';
import { runGenerator, type GenSummary } from '../../harness/src/generator.js';
import { startMcrd, type RunningMcrd } from '../../harness/src/mcrd.js';
import { startSink, type SinkSummary } from '../../harness/src/sink.js';
import type { StreamPlan } from '../../harness/src/streams.js';

export interface Rig {
  chain: Chain;
  mcrd: RunningMcrd;
  /** Where mcrd's socket, log and any state or config file of the test live. */
  dir: string;
  /** Starts (another) mcrd in the relay namespace on the same socket path; replaces rig.mcrd. */
  restart(args: string[]): Promise<RunningMcrd>;
  destroy(): Promise<void>;
}

export async function startRig(args: string[], chainOptions: ChainOptions = {}): Promise<Rig> {
  const chain = await createChain(chainOptions);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-test-'));
  const launch = (a: string[]) => startMcrd(chain.relayIn.ns, path.join(dir, 'mcrd.sock'), ['--stats-interval', '0', ...a], path.join(dir, `mcrd-${Date.now()}.log`));
  let mcrd: RunningMcrd;
  try {
    mcrd = await launch(args);
  } catch (err) {
    await chain.destroy();
    throw err;
  }
  const rig: Rig = {
    chain,
    mcrd,
    dir,
    async restart(a) {
      rig.mcrd = await launch(a);
      return rig.mcrd;
    },
    async destroy() {
      rig.mcrd.client.close();
      await rig.mcrd.stop();
      await chain.destroy();
    },
  };
  return rig;
}

export function ruleFor(c: Chain, s: StreamPlan) {
  return { name: `s${s.stream}`, inputInterface: c.relayIn.ifname, inputGroup: s.inGroup, inputPort: s.inPort, outputs: [{ group: s.outGroup, port: s.outPort, interface: c.relayOut.ifname }] };
}

/** Sends `count` packets per stream at `rate` and counts them at the sink. */
export async function traffic(c: Chain, plans: StreamPlan[], count: number, rate: number, runId: number): Promise<{ gen: GenSummary; sink: SinkSummary }> {
  const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: plans.map((p) => `${p.outGroup}:${p.outPort}`), runId, idleTimeoutMs: 800, maxWaitMs: 60_000 });
  const gen = await runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: plans.map((p) => `${p.inGroup}:${p.inPort}`), rate, count, size: 256, runId });
  return { gen, sink: await sink.done };
}
