// The relay under test: mcrd in the relay namespace, rules added over its control socket.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { addonPath, projectRoot, type RuleWithStats, type WorkerStats } from '../../../relay/src/api.js';
import { createCpuLimit, type CpuLimit } from '../cpu-limit.js';
import { startMcrd } from '../mcrd.js';
import { slowSendEnvironment } from '../slow-send.js';
import { nsFetch } from '../ns-fetch.js';
import { sumFamilies } from '../prometheus-text.js';
import { familyOf, type StreamPlan } from '../streams.js';
import { relayFaults } from './relay-faults.js';
import { treeResources } from './resources.js';
import { treeCpuSeconds } from './cpu.js';
import type { Availability, Contender, ContenderReport, RunningContender, StartOptions } from './types.js';
import { treeCpuLists } from '../placement.js';


export interface RelayCounters {
  workers: { interface: string; index: number; rx: number; tx: number; kernelDrops: number; txErrors: number; malformed: number; unmatched: number }[];
  totals: Record<string, number>;
  rules: { id: string; packets: number; out: number }[];
}

/** mcrd's Prometheus endpoint, on the loopback of the relay namespace (fresh for every step). */
const METRICS_ADDRESS = '127.0.0.1:9108';
export const METRICS_FILE = 'relay-metrics.prom';

/** What the timeline records of each scrape: the relay's own view of the traffic, over all workers. */
const TIMELINE_FAMILIES = {
  received: 'mcr_worker_received_frames_total',
  forwarded: 'mcr_worker_sent_datagrams_total',
  ingressDrops: 'mcr_worker_ingress_drops_total',
  sendErrors: 'mcr_worker_send_errors_total',
  workers: 'mcr_workers',
};

async function scrapeTotals(ns: string): Promise<Record<string, number>> {
  const { status, body } = await nsFetch(ns, `http://${METRICS_ADDRESS}/metrics`);
  if (status !== 200) throw new Error(`GET /metrics: HTTP ${status}`);
  return sumFamilies(body, TIMELINE_FAMILIES);
}

/** Saves one scrape of mcrd's /metrics into logDir; what went wrong otherwise (the step goes on). */
async function saveMetrics(ns: string, logDir: string): Promise<{ metricsFile: string } | { metricsError: string }> {
  try {
    const { status, body } = await nsFetch(ns, `http://${METRICS_ADDRESS}/metrics`);
    if (status !== 200) return { metricsError: `GET /metrics: HTTP ${status}: ${body.slice(0, 200)}` };
    writeFileSync(path.join(logDir, METRICS_FILE), body);
    return { metricsFile: METRICS_FILE };
  } catch (err) {
    return { metricsError: (err as Error).message };
  }
}

export const relayContender: Contender = {
  name: 'relay',
  rewrites: true,
  needsForwarding: false,
  async available(): Promise<Availability> {
    if (!existsSync(addonPath)) return { ok: false, reason: `native addon ${addonPath} missing: run 'npm install' (or 'npm run build')` };
    if (!existsSync(path.join(projectRoot, 'dist', 'relay', 'src', 'cli', 'mcrd.js'))) return { ok: false, reason: "compiled mcrd missing: run 'npm run build:ts'" };
    return { ok: true };
  },
  async start({ chain, streams, logDir, workers, relayFlags, fanout, ingress, egress, impairments, cpus }: StartOptions): Promise<RunningContender> {
    const args = ['--workers', String(workers), '--fanout', fanout, '--ingress', ingress, '--egress', egress, '--interface', chain.relayIn.ifname, '--stats-interval', '0', '--state-file', path.join(logDir, 'mcrd-state.json'), '--metrics-listen', METRICS_ADDRESS];
    if (impairments.noIgmp) args.push('--no-igmp');
    args.push(...(relayFlags ?? []));
    const env = impairments.relaySlowSendUs ? await slowSendEnvironment(impairments.relaySlowSendUs) : {};
    const launch = (n: number) => startMcrd(chain.relayIn.ns, path.join(logDir, 'mcrd.sock'), args, path.join(logDir, n ? `mcrd-${n}.log` : 'mcrd.log'), { env, cpus });
    let mcrd = await launch(0);
    const firstPid = mcrd.pid;
    const commands = [mcrd.command];
    if (impairments.relaySlowSendUs) commands.push(`# impairment: mcrd and its workers spend ${impairments.relaySlowSendUs} µs of CPU more per datagram sent (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})`);
    let cpuLimit: CpuLimit | undefined;
    try {
      if (impairments.relayCpuLimit) {
        // Workers already run (--interface); restarted ones inherit the cgroup.
        cpuLimit = await createCpuLimit(`mcr-${chain.prefix}`, impairments.relayCpuLimit);
        cpuLimit.addTree(mcrd.pid);
        commands.push(`# impairment: mcrd and its workers limited to ${Math.round(impairments.relayCpuLimit * 100)}% of a CPU (cgroup ${cpuLimit.path})`);
      }
      // --cross-wire: stream 1 goes out to stream 2's group (the misdelivery gate's negative control).
      const outputOf = (s: StreamPlan) => (impairments.crossWire && s.stream === 1 && streams.length > 1 ? streams[1] : s);
      const rules = streams.map((s) => ({ name: `s${s.stream}`, inputInterface: chain.relayIn.ifname, inputGroup: s.inGroup, inputPort: s.inPort, outputs: [{ group: outputOf(s).outGroup, port: outputOf(s).outPort, interface: chain.relayOut.ifname }] }));
      await mcrd.client.request('apply', { add: rules });
      writeFileSync(path.join(logDir, 'rules.json'), JSON.stringify(rules, null, 1));
      commands.push(`mcrctl --socket ${mcrd.socketPath} apply -f ${path.join(logDir, 'rules.json')}   # ${rules.length} rules as one change`);
    } catch (err) {
      mcrd.client.close();
      await mcrd.stop();
      await cpuLimit?.destroy();
      throw err;
    }
    const faults = relayFaults(() => mcrd, async () => {
      mcrd = await launch(commands.length);
      commands.push(`# fault: mcrd killed and started again: ${mcrd.command}`);
      return mcrd;
    }, chain.relayIn.ifname, chain.relayOut.ifname, familyOf(streams[0]?.inGroup ?? ''));
    return {
      // Across a supervisor restart the process tree is another one: CPU is not attributable then.
      cpuSeconds: () => (mcrd.pid === firstPid ? treeCpuSeconds(mcrd.pid) : null),
      cpuLists: () => treeCpuLists(mcrd.pid),
      inject: faults,
      resources: () => treeResources(mcrd.pid),
      counters: () => scrapeTotals(chain.relayIn.ns),
      async stop(): Promise<ContenderReport> {
        let counters: RelayCounters | undefined;
        let metrics: Awaited<ReturnType<typeof saveMetrics>> | undefined;
        try {
          // The same counters as below, as Prometheus would have seen them at the end of the step.
          metrics = await saveMetrics(chain.relayIn.ns, logDir);
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
          counters: { ...counters, ...metrics, exit: mcrd.exitNote(), ...(throttledSeconds === undefined ? {} : { cpuThrottledSeconds: throttledSeconds }) },
        };
      },
    };
  },
};
