// The relay under test: mcrd in the relay namespace, rules added over its control socket.
import { createWriteStream, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlClient } from '../../../relay/src/control-client.js';
import { projectRoot } from '../../../relay/src/native.js';
import type { RuleWithStats } from '../../../relay/src/supervisor.js';
import type { WorkerStats } from '../../../relay/src/workers.js';
import { nsSpawn } from '../../../netns/exec.js';
import { treeCpuSeconds } from './cpu.js';
import type { Availability, Contender, ContenderReport, RunningContender, StartOptions } from './types.js';

const MCRD = path.join(projectRoot, 'bin', 'mcrd.js');
const ADDON = path.join(projectRoot, 'build', 'Release', 'mcr.node');

async function connectWhenReady(socketPath: string, exited: () => string | undefined): Promise<ControlClient> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const why = exited();
    if (why) throw new Error(`mcrd exited before its control socket answered: ${why}`);
    try {
      const client = await ControlClient.connect(socketPath, 1000);
      await client.request('ping');
      return client;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`mcrd control socket ${socketPath} did not answer within 15 s: ${(err as Error).message}`);
      await sleep(50);
    }
  }
}

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
  async start({ chain, streams, logDir, workers, fanout, ingress }: StartOptions): Promise<RunningContender> {
    const socketPath = path.join(logDir, 'mcrd.sock');
    const args = [MCRD, '--control-socket', socketPath, '--workers', String(workers), '--fanout', fanout, '--ingress', ingress, '--interface', chain.relayIn.ifname, '--stats-interval', '0'];
    const log = createWriteStream(path.join(logDir, 'mcrd.log'));
    const child = nsSpawn(chain.relayIn.ns, process.execPath, args, { stdout: 'pipe', stderr: 'pipe', reject: false });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    let exitNote: string | undefined;
    const exited = child.then((r) => {
      exitNote = `exit code ${r.exitCode ?? '-'}${r.signal ? `, signal ${r.signal}` : ''} (log: ${path.join(logDir, 'mcrd.log')})`;
      return r;
    });
    const command = `ip netns exec ${chain.relayIn.ns} node ${args.map((a) => (a === MCRD ? 'bin/mcrd.js' : a)).join(' ')}`;
    const commands = [command];

    let client: ControlClient;
    try {
      client = await connectWhenReady(socketPath, () => exitNote);
      for (const s of streams) {
        const outputs = `${s.outGroup}:${s.outPort}:${chain.relayOut.ifname}`;
        await client.request('add', {
          rule: {
            name: `s${s.stream}`,
            inputInterface: chain.relayIn.ifname,
            inputGroup: s.inGroup,
            inputPort: s.inPort,
            outputs: [{ group: s.outGroup, port: s.outPort, interface: chain.relayOut.ifname }],
          },
        });
        if (s.stream === 1) commands.push(`mcrctl --socket ${socketPath} add --input-interface ${chain.relayIn.ifname} --input-group ${s.inGroup} --input-port ${s.inPort} --outputs ${outputs} --name s1   (one per stream)`);
      }
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      throw err;
    }

    // Count only what forwarding costs, not start-up.
    const cpuAtStart = child.pid ? treeCpuSeconds(child.pid) : 0;
    return {
      async stop(): Promise<ContenderReport> {
        let counters: RelayCounters | undefined;
        let cpu: number | null = null;
        try {
          const stats = await client.request<{ workers: WorkerStats[]; rules: RuleWithStats[]; totals: Record<string, number> }>('stats');
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
          if (child.pid) cpu = treeCpuSeconds(child.pid) - cpuAtStart;
        } finally {
          client.close();
          child.kill('SIGTERM');
          const result = await Promise.race([exited, sleep(10_000).then(() => undefined)]);
          if (!result) {
            child.kill('SIGKILL');
            await exited;
          }
        }
        return {
          commands,
          cpuSeconds: cpu,
          ingressDrops: counters?.totals.kernelDrops,
          egressErrors: counters?.totals.txErrors,
          counters: { ...counters, exit: exitNote },
        };
      },
    };
  },
};
