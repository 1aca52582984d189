// The relay under test: mcrd in the relay namespace, rules added over its control socket.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../relay/src/native.js';
import type { RuleWithStats } from '../../../relay/src/supervisor.js';
import type { WorkerStats } from '../../../relay/src/workers.js';
import { createCpuLimit, type CpuLimit } from '../cpu-limit.js';
import { startMcrd } from '../mcrd.js';
import { treeCpuSeconds } from './cpu.js';
import type { Availability, Contender, ContenderReport, RunningContender, StartOptions } from './types.js';

const ADDON = path.join(projectRoot, 'build', 'Release', 'mcr.node');

export interface RelayCounters {
  workers: { interface: string; index: number; rx: number; tx: number; kernelDrops: number; txErrors: number; malformed: number; unmatched: number }[];
  totals: Record<string, number>;
  rules: { id: string; packets: number; out: number }[];
}

export const relayContender: Contender = {
  name: 'relay',
  rewrites: true,
  needsForwarding: false,
  async available(): Promise<Availability> {
    if (!existsSync(ADDON)) return { ok: false, reason: `native addon ${ADDON} missing: run 'npm install' (or 'npm run build')` };
    if (!existsSync(path.join(projectRoot, 'dist', 'relay', 'src', 'cli', 'mcrd.js'))) return { ok: false, reason: "compiled mcrd missing: run 'npm run build:ts'" };
    return { ok: true };
  },
  async start({ chain, streams, logDir, workers, fanout, ingress, impairments }: StartOptions): Promise<RunningContender> {
    const args = ['--workers', String(workers), '--fanout', fanout, '--ingress', ingress, '--interface', chain.relayIn.ifname, '--stats-interval', '0'];
    if (impairments.noIgmp) args.push('--no-igmp');
    const mcrd = await startMcrd(chain.relayIn.ns, path.join(logDir, 'mcrd.sock'), args, path.join(logDir, 'mcrd.log'));
    const commands = [mcrd.command];
    let cpuLimit: CpuLimit | undefined;
    try {
      if (impairments.relayCpuLimit) {
        // Workers already run (--interface); restarted ones inherit the cgroup.
        cpuLimit = await createCpuLimit(`mcr-${chain.prefix}`, impairments.relayCpuLimit);
        cpuLimit.addTree(mcrd.pid);
        commands.push(`# impairment: mcrd and its workers limited to ${Math.round(impairments.relayCpuLimit * 100)}% of a CPU (cgroup ${cpuLimit.path})`);
      }
      for (const s of streams) {
        const output = { group: s.outGroup, port: s.outPort, interface: chain.relayOut.ifname };
        await mcrd.client.request('add', { rule: { name: `s${s.stream}`, inputInterface: chain.relayIn.ifname, inputGroup: s.inGroup, inputPort: s.inPort, outputs: [output] } });
      }
      const s1 = streams[0];
      if (s1) commands.push(`mcrctl --socket ${mcrd.socketPath} add --input-interface ${chain.relayIn.ifname} --input-group ${s1.inGroup} --input-port ${s1.inPort} --outputs ${s1.outGroup}:${s1.outPort}:${chain.relayOut.ifname} --name s1   # one per stream`);
    } catch (err) {
      mcrd.client.close();
      await mcrd.stop();
      await cpuLimit?.destroy();
      throw err;
    }
    return {
      cpuSeconds: () => treeCpuSeconds(mcrd.pid),
      async stop(): Promise<ContenderReport> {
        let counters: RelayCounters | undefined;
        try {
          const stats = await mcrd.client.request<{ workers: WorkerStats[]; rules: RuleWithStats[]; totals: Record<string, number> }>('stats');
          counters = {
            workers: stats.workers.map((w) => ({
              interface: w.interface,
              index: w.index,
              rx: w.stats?.rx ?? 0,
              tx: w.stats?.tx ?? 0,
              kernelDrops: w.stats?.kernelDrops ?? 0,
              txErrors: w.stats?.txErrors ?? 0,
              malformed: w.stats?.malformed ?? 0,
              unmatched: w.stats?.unmatched ?? 0,
            })),
            totals: stats.totals,
            rules: stats.rules.map((r) => ({ id: r.id, packets: r.packets, out: r.outputs.reduce((n, o) => n + o.packets, 0) })),
          };
        } finally {
          mcrd.client.close();
          await mcrd.stop();
        }
        const throttledSeconds = cpuLimit?.throttledSeconds();
        await cpuLimit?.destroy();
        return {
          commands,
          ingressDrops: counters?.totals.kernelDrops,
          egressErrors: counters?.totals.txErrors,
          counters: { ...counters, exit: mcrd.exitNote(), ...(throttledSeconds === undefined ? {} : { cpuThrottledSeconds: throttledSeconds }) },
        };
      },
    };
  },
};
