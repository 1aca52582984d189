// npm run control-rate: how fast mcrd takes rule changes — N rules as one 'apply', then N single
// adds pipelined on one connection — with its workers running and IGMP joining (needs root); and
// how long list, stats and workers take with the N rules in place.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { createChain } from '../../../netns/topology.js';
import { startMcrd } from '../mcrd.js';
import { median } from '../stats.js';

const program = new Command('control-rate')
  .description("Time mcrd's rule changes: N rules in one apply, and N single adds pipelined on one connection; and list, stats and workers with the N rules (medians of the repetitions).")
  .option('--rules <n>', 'rules per measurement', '1000')
  .option('--workers <n>', 'mcrd workers on the input interface', '2')
  .option('--repetitions <n>', 'repeat and report the median', '3')
  .option('--state-file', 'run mcrd with a state file (every change is fsync\'d before its ack)')
  .option('--json', 'print JSON')
  .parse();
const o = program.opts<{ rules: string; workers: string; repetitions: string; stateFile?: boolean; json?: boolean }>();
const n = Number(o.rules);

const chain = await createChain();
const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-control-rate-'));
const args = ['--workers', o.workers, '--interface', chain.relayIn.ifname, '--stats-interval', '0', ...(o.stateFile ? ['--state-file', path.join(dir, 'state.json')] : [])];
const mcrd = await startMcrd(chain.relayIn.ns, path.join(dir, 'mcrd.sock'), args, path.join(dir, 'mcrd.log'));
const rule = (i: number) => ({ name: `r${i}`, inputInterface: chain.relayIn.ifname, inputGroup: `239.9.${i >> 8}.${i & 255}`, inputPort: 5000, outputs: [{ group: '239.10.0.1', port: 6000, interface: chain.relayOut.ifname }] });
const removeAll = () => mcrd.client.request('apply', { remove: Array.from({ length: n }, (_, i) => ({ name: `r${i}` })) });
const since = (t: number) => Math.round(performance.now() - t);
const applyMs: number[] = [];
const pipelinedPerSecond: number[] = [];
const READS = ['list', 'stats', 'workers'] as const;
const readMs: Record<(typeof READS)[number], number[]> = { list: [], stats: [], workers: [] };
try {
  for (let r = 0; r < Number(o.repetitions); r++) {
    let t = performance.now();
    await mcrd.client.request('apply', { add: Array.from({ length: n }, (_, i) => rule(i)) });
    applyMs.push(since(t));
    for (const read of READS) {
      t = performance.now();
      await mcrd.client.request(read);
      readMs[read].push(since(t));
    }
    await removeAll();
    t = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => mcrd.client.request('add', { rule: rule(i) })));
    pipelinedPerSecond.push(Math.round(n / ((performance.now() - t) / 1000)));
    await removeAll();
    process.stderr.write(`repetition ${r + 1}: apply ${applyMs.at(-1)} ms, ${READS.map((read) => `${read} ${readMs[read].at(-1)} ms`).join(', ')}, pipelined adds ${pipelinedPerSecond.at(-1)}/s\n`);
  }
} finally {
  mcrd.client.close();
  await mcrd.stop();
  await chain.destroy();
}
const reads = Object.fromEntries(READS.map((read) => [read, median(readMs[read])])) as Record<(typeof READS)[number], number>;
const summary = { rules: n, workers: Number(o.workers), stateFile: Boolean(o.stateFile), applyMs: median(applyMs), readMs: reads, pipelinedAddsPerSecond: median(pipelinedPerSecond), repetitions: { applyMs, readMs, pipelinedPerSecond } };
console.log(
  o.json
    ? JSON.stringify(summary)
    : `${n} rules in one apply: ${summary.applyMs} ms; with them, ${READS.map((read) => `${read} ${reads[read]} ms`).join(', ')}; ${n} pipelined single adds: ${summary.pipelinedAddsPerSecond.toLocaleString('en-US')}/s (medians of ${applyMs.length}; ${summary.workers} workers${summary.stateFile ? ', state file' : ''})`,
);
