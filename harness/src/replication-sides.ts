// How each contender replicates one input group to K destinations (RFC 3918's forwarding matrix):
// the relay with one rule of K outputs, socat with one process per copy (it has no other way), the
// kernel with one MFC entry listing every output interface (it cannot rewrite a group, so only
// the K-interface case is possible for it).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Chain, Host } from '../../netns/topology.js';
import { endpoint } from '../../relay/src/api.js';
import { treeCpuSeconds } from './contenders/cpu.js';
import { udpSocketCount } from './contenders/procnet.js';
import type { Contender, ContenderReport, RunningContender, StartOptions } from './contenders/types.js';
import { startMcrd } from './mcrd.js';
import type { StreamPlan } from './streams.js';
import { familyOf } from './streams.js';

/** One copy of the input: where it leaves the relay namespace, and the group:port it goes to. */
export interface Copy {
  relayOut: Host;
  sink: Host;
  group: string;
  port: number;
}

export interface SidesOptions extends Omit<StartOptions, 'chain' | 'streams'> {
  contender: Contender;
  chain: Chain;
  input: StreamPlan;
  copies: Copy[];
}

/** mcrd with one rule whose outputs are the copies. */
async function relayCopies(o: SidesOptions): Promise<RunningContender> {
  const { chain } = o;
  const args = ['--workers', String(o.workers), '--fanout', o.fanout, '--ingress', o.ingress, '--egress', o.egress, '--interface', chain.relayIn.ifname, '--stats-interval', '0'];
  if (o.impairments.noIgmp) args.push('--no-igmp');
  const mcrd = await startMcrd(chain.relayIn.ns, path.join(o.logDir, 'mcrd.sock'), args, path.join(o.logDir, 'mcrd.log'));
  const rule = { name: 'replicate', inputInterface: chain.relayIn.ifname, inputGroup: o.input.inGroup, inputPort: o.input.inPort, outputs: o.copies.map((c) => ({ group: c.group, port: c.port, interface: c.relayOut.ifname })) };
  try {
    await mcrd.client.request('apply', { add: [rule] });
  } catch (err) {
    mcrd.client.close();
    await mcrd.stop();
    throw err;
  }
  writeFileSync(path.join(o.logDir, 'rules.json'), JSON.stringify([rule], null, 1));
  const commands = [mcrd.command, `mcrctl --socket ${mcrd.socketPath} apply -f ${path.join(o.logDir, 'rules.json')}   # one rule, ${rule.outputs.length} outputs`];
  return {
    cpuSeconds: () => treeCpuSeconds(mcrd.pid),
    async stop(): Promise<ContenderReport> {
      let totals: Record<string, number> = {};
      let outputs: { output: string; packets: number }[] = [];
      try {
        const stats = await mcrd.client.request<{ totals: Record<string, number>; rules: { outputs: { group: string; port: number; interface: string; packets: number }[] }[] }>('stats');
        totals = stats.totals;
        // The relay's own view per output, for the report only: the verdict is the sinks' count.
        outputs = (stats.rules[0]?.outputs ?? []).map((x) => ({ output: `${endpoint(x.group, x.port)}:${x.interface}`, packets: x.packets }));
      } finally {
        mcrd.client.close();
        await mcrd.stop();
      }
      return { commands, ingressDrops: totals.kernelDrops, egressErrors: totals.txErrors, counters: { totals, outputs, exit: mcrd.exitNote() } };
    },
  };
}

/** One socat per copy, each started as the standard contender starts one, on its copy's output link. */
async function socatCopies(o: SidesOptions): Promise<RunningContender> {
  const running: RunningContender[] = [];
  const stopAll = async () => Promise.all(running.map((r) => r.stop()));
  try {
    for (const [k, c] of o.copies.entries()) {
      const logDir = path.join(o.logDir, `copy-${k + 1}`);
      mkdirSync(logDir, { recursive: true });
      const stream = { ...o.input, outGroup: c.group, outPort: c.port };
      running.push(await o.contender.start({ ...o, chain: { ...o.chain, relayOut: c.relayOut, sink: c.sink }, streams: [stream], logDir }));
    }
    // Each start waited for at least one bound socket in the namespace: wait for all K.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const bound = await udpSocketCount(o.chain.relayIn.ns, o.input.inPort, familyOf(o.input.inGroup));
      if (bound >= o.copies.length) break;
      if (Date.now() > deadline) throw new Error(`only ${bound} of ${o.copies.length} socat sockets bound after 10 s`);
      await sleep(50);
    }
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
  return {
    cpuSeconds: () => running.reduce((n, r) => n + (r.cpuSeconds() ?? 0), 0),
    async stop(): Promise<ContenderReport> {
      const reports = await stopAll();
      // Every socat reads the same namespace-wide drop counter of the port: the largest is the count.
      return { commands: reports.flatMap((r) => r.commands), ingressDrops: Math.max(0, ...reports.map((r) => r.ingressDrops ?? 0)), counters: { processes: reports.length } };
    },
  };
}

/** Starts the contender so that every packet of the input goes to every copy. */
export async function startCopies(o: SidesOptions): Promise<RunningContender> {
  if (o.contender.name === 'relay') return relayCopies(o);
  if (o.contender.name === 'socat') return socatCopies(o);
  // The kernel: one route whose outputs are the chain's output links (the copies' links).
  return o.contender.start({ ...o, streams: [o.input] });
}
