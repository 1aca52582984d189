// npm run bench: the relay's hot-path pieces through the addon, timed with tinybench — frame
// parse, rule lookup at 10 / 1k / 100k rules, and egress batches built and flushed (sendmmsg; one
// flow's datagrams as GSO messages) to 127.0.0.1.
// Each call repeats its piece many times inside the addon (one N-API call costs more than one
// parse); figures are nanoseconds per piece: the median call and its 99th percentile, divided.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { Bench } from 'tinybench';
import { loadTestAddon, projectRoot } from '../../../relay/src/api.js';
import { positiveInt } from './args.js';
import { frame } from '../frames.js';

interface Piece {
  name: string;
  /** Pieces per call. */
  per: number;
  run: () => unknown;
}

export interface BenchEntry {
  name: string;
  unit: 'ns';
  /** Median call time / pieces per call. */
  value: number;
  /** The 99th-percentile call, per piece. */
  p99: number;
  calls: number;
}

function pieces(batchSizes: number[]): Piece[] {
  const addon = loadTestAddon();
  const packet = frame({ payload: 512 });
  const list: Piece[] = [{ name: 'parse a 512-byte UDP multicast frame', per: 1000, run: () => addon.benchParse(packet, 1000) }];
  for (const rules of [10, 1000, 100000]) {
    const table = new addon.LookupBench(rules);
    list.push({ name: `rule lookup, ${rules.toLocaleString('en-US')} rules`, per: 1000, run: () => table.run(1000) });
  }
  const oneFlow = new addon.BatchBench(512, 1);
  const flows = new addon.BatchBench(512, 16);
  for (const n of batchSizes) {
    list.push({ name: `egress batch of ${n} × 512 B, one flow (GSO), per datagram`, per: n * 10, run: () => oneFlow.run(10, n) });
    if (n > 1) list.push({ name: `egress batch of ${n} × 512 B, 16 flows interleaved, per datagram`, per: n * 10, run: () => flows.run(10, n) });
  }
  return list;
}

export async function runBench(timeMs: number, batchSizes: number[]): Promise<BenchEntry[]> {
  const list = pieces(batchSizes);
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs / 4) });
  for (const p of list) bench.add(p.name, p.run);
  await bench.run();
  return bench.tasks.map((task, i) => {
    const latency = task.result?.latency;
    if (!latency?.p50 || !latency.p99) throw new Error(`bench: '${task.name}' produced no timings${task.result?.error ? `: ${task.result.error.message}` : ''}`);
    const perPiece = (ms: number) => Math.round((ms * 1e6) / list[i].per * 10) / 10;
    return { name: task.name, unit: 'ns', value: perPiece(latency.p50), p99: perPiece(latency.p99), calls: latency.samples?.length ?? 0 };
  });
}

const program = new Command('bench')
  .description("Time the relay's hot-path pieces through the addon (tinybench): frame parse, rule lookup at 10 / 1,000 / 100,000 rules, egress batches flushed with sendmmsg. Writes results/bench/<time>.json in github-action-benchmark's format (smaller is better).")
  // Usage errors exit 2, like the scenarios' (help is 0).
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .option('--time <ms>', 'time per piece', positiveInt('--time'), 1000)
  .option('--batch <list>', 'egress batch sizes', (v) => v.split(',').map(positiveInt('--batch')), [1, 16, 64])
  .option('--json', 'print the entries as JSON')
  .action(async (o: { time: number; batch: number[]; json?: boolean }) => {
    const bad = o.batch.find((n) => n > 1024);
    if (bad) throw new InvalidArgumentError(`--batch ${bad}: an egress batch holds at most 1024 datagrams`);
    const entries = await runBench(o.time, o.batch);
    const dir = path.join(projectRoot, 'results', 'bench');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}.json`);
    writeFileSync(file, JSON.stringify(entries, null, 2) + '\n');
    if (o.json) console.log(JSON.stringify(entries, null, 2));
    else {
      const width = Math.max(...entries.map((e) => e.name.length));
      console.log(`${'piece'.padEnd(width)}  ns (median)  ns (p99)`);
      for (const e of entries) console.log(`${e.name.padEnd(width)}  ${String(e.value).padStart(11)}  ${String(e.p99).padStart(8)}`);
      console.log(`written: ${path.relative(process.cwd(), file)}`);
    }
  });

program.parseAsync().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(2);
});
