// How each contender is asked for its groups and told to drop them, for join and leave delay
// (RFC 3918): the relay by an acknowledged apply to an mcrd already running with no rules; socat
// and the kernel by starting (one socat per group; smcrouted with its routes and mgroups) and
// stopping them — they have no other way to be asked.
import path from 'node:path';
import type { Chain } from '../../netns/topology.js';
import type { Contender, ContenderReport, RunningContender, StartOptions } from './contenders/types.js';
import { startMcrd, type RunningMcrd } from './mcrd.js';
import type { StreamPlan } from './streams.js';

export interface JoinLeaveSide {
  /** Asks for every group; resolves once the contender acknowledged. Returns what the request was. */
  join(): Promise<string>;
  /** Drops every group; resolves once acknowledged. Returns what the request was. */
  leave(): Promise<string>;
  /** Stops whatever still runs; the contender's command lines and counters. */
  finish(): Promise<ContenderReport>;
}

export interface SideOptions extends Omit<StartOptions, 'chain' | 'streams'> {
  contender: Contender;
  chain: Chain;
  streams: StreamPlan[];
  /** mcrd --igmp-leave-delay (relay only). */
  leaveDelayMs: number;
}

async function relaySide(o: SideOptions): Promise<JoinLeaveSide> {
  const { chain } = o;
  const args = ['--workers', String(o.workers), '--fanout', o.fanout, '--ingress', o.ingress, '--egress', o.egress, '--interface', chain.relayIn.ifname, '--stats-interval', '0'];
  if (o.leaveDelayMs > 0) args.push('--igmp-leave-delay', String(o.leaveDelayMs));
  if (o.impairments.noIgmp) args.push('--no-igmp');
  // Workers are up (--interface) before the request: what is timed is the rules and the joins.
  const mcrd: RunningMcrd = await startMcrd(chain.relayIn.ns, path.join(o.logDir, 'mcrd.sock'), args, path.join(o.logDir, 'mcrd.log'));
  const rules = o.streams.map((s) => ({ name: `s${s.stream}`, inputInterface: chain.relayIn.ifname, inputGroup: s.inGroup, inputPort: s.inPort, outputs: [{ group: s.outGroup, port: s.outPort, interface: chain.relayOut.ifname }] }));
  const commands = [mcrd.command];
  let stopped = false;
  return {
    async join() {
      await mcrd.client.request('apply', { add: rules });
      commands.push(`mcrctl --socket ${mcrd.socketPath} apply   # ${rules.length} rules as one change (the join request)`);
      return `mcrctl apply of ${rules.length} rules, acknowledged`;
    },
    async leave() {
      await mcrd.client.request('apply', { remove: rules.map((r) => ({ name: r.name })) });
      commands.push(`mcrctl --socket ${mcrd.socketPath} apply   # ${rules.length} removes as one change (the leave request)`);
      return `mcrctl apply removing ${rules.length} rules, acknowledged${o.leaveDelayMs > 0 ? ` (mcrd --igmp-leave-delay ${o.leaveDelayMs})` : ''}`;
    },
    async finish() {
      if (stopped) return { commands, counters: {} };
      stopped = true;
      let totals: Record<string, number> = {};
      try {
        totals = (await mcrd.client.request<{ totals: Record<string, number> }>('stats')).totals;
      } finally {
        mcrd.client.close();
        await mcrd.stop();
      }
      return { commands, ingressDrops: totals.kernelDrops, egressErrors: totals.txErrors, counters: { totals, exit: mcrd.exitNote() } };
    },
  };
}

/** socat or the kernel: started to ask for the groups, stopped to drop them. */
function processSide(o: SideOptions): JoinLeaveSide {
  let running: RunningContender | undefined;
  let report: ContenderReport | undefined;
  const start: StartOptions = { chain: o.chain, streams: o.streams, logDir: o.logDir, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egress: o.egress, impairments: o.impairments };
  const what = o.contender.name === 'socat' ? `${o.streams.length} socat processes` : `smcrouted with ${o.streams.length} routes and mgroups`;
  return {
    async join() {
      running = await o.contender.start(start);
      return `${what} started (every group bound or routed)`;
    },
    async leave() {
      report = await running?.stop();
      running = undefined;
      return `${what} stopped`;
    },
    async finish() {
      report ??= await running?.stop();
      return report ?? { commands: [], counters: {} };
    },
  };
}

export async function joinLeaveSide(o: SideOptions): Promise<JoinLeaveSide> {
  return o.contender.name === 'relay' ? relaySide(o) : processSide(o);
}
