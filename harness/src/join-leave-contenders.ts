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
  /** Asks for these groups; resolves once the contender acknowledged. Returns what the request was. */
  join(streams: StreamPlan[]): Promise<string>;
  /** Drops the groups of an earlier join (the same list); resolves once acknowledged. Returns what the request was. */
  leave(streams: StreamPlan[]): Promise<string>;
  /** Stops whatever still runs; the contender's command lines and counters. */
  finish(): Promise<ContenderReport>;
}

export interface SideOptions extends Omit<StartOptions, 'chain' | 'streams'> {
  contender: Contender;
  chain: Chain;
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
  const rulesOf = (streams: StreamPlan[]) => streams.map((s) => ({ name: `g${s.inGroup.replace(/[^A-Za-z0-9]/g, "-")}`, inputInterface: chain.relayIn.ifname, inputGroup: s.inGroup, inputPort: s.inPort, outputs: [{ group: s.outGroup, port: s.outPort, interface: chain.relayOut.ifname }] }));
  const commands = [mcrd.command];
  let stopped = false;
  return {
    async join(streams) {
      const rules = rulesOf(streams);
      await mcrd.client.request('apply', { add: rules });
      commands.push(`mcrctl --socket ${mcrd.socketPath} apply   # ${rules.length} rules as one change (a join request)`);
      return `mcrctl apply of ${rules.length} rules, acknowledged`;
    },
    async leave(streams) {
      const rules = rulesOf(streams);
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

/** socat or the kernel: started to ask for the groups, stopped to drop them (one instance per join). */
function processSide(o: SideOptions): JoinLeaveSide {
  const running = new Map<StreamPlan[], RunningContender>();
  const reports: ContenderReport[] = [];
  const start = (streams: StreamPlan[]): StartOptions => ({ chain: o.chain, streams, logDir: o.logDir, workers: o.workers, fanout: o.fanout, ingress: o.ingress, egress: o.egress, impairments: o.impairments });
  const what = (n: number) => (o.contender.name === 'socat' ? `${n} socat processes` : `smcrouted with ${n} routes and mgroups`);
  return {
    async join(streams) {
      running.set(streams, await o.contender.start(start(streams)));
      return `${what(streams.length)} started (every group bound or routed)`;
    },
    async leave(streams) {
      const r = running.get(streams);
      running.delete(streams);
      if (r) reports.push(await r.stop());
      return `${what(streams.length)} stopped`;
    },
    async finish() {
      for (const [streams, r] of running) running.delete(streams), reports.push(await r.stop());
      return { commands: reports.flatMap((r) => r.commands), ingressDrops: reports.reduce((n, r) => n + (r.ingressDrops ?? 0), 0), counters: Object.assign({}, ...reports.map((r) => r.counters)) };
    },
  };
}

export async function joinLeaveSide(o: SideOptions): Promise<JoinLeaveSide> {
  return o.contender.name === 'relay' ? relaySide(o) : processSide(o);
}
