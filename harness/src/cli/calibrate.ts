// npm run calibrate -- --size 64: the instrument's zero-loss ceiling on this machine.
import { Command } from 'commander';
import { calibrate } from '../calibrate.js';
import { median } from '../stats.js';

const program = new Command('calibrate')
  .description('Highest rate mcr-gen -> mcr-sink sustains with zero loss over one veth pair (needs root).')
  .option('--size <bytes>', 'UDP payload size (40-1472)', '64')
  .option('--streams <n>', 'streams', '1')
  .option('--threads <n>', 'generator sender threads (capped at the streams)', '1')
  .option('--repetitions <n>', 'repeat and report the median', '3')
  .option('--probe-seconds <s>', 'length of each probe', '0.5')
  .option('--family <4|6>', 'IP version of the probe streams', '4')
  .option('--json', 'print JSON')
  .parse();

const o = program.opts<{ size: string; streams: string; threads: string; repetitions: string; probeSeconds: string; family: string; json?: boolean }>();
if (o.family !== '4' && o.family !== '6') program.error('--family must be 4 or 6', { exitCode: 2 });
const rates: number[] = [];
for (let r = 0; r < Number(o.repetitions); r++) {
  const result = await calibrate({
    size: Number(o.size),
    streams: Number(o.streams),
    threads: Number(o.threads),
    probeSeconds: Number(o.probeSeconds),
    family: Number(o.family) as 4 | 6,
    onProbe: (rate, lost) => process.stderr.write(`  probe ${Math.round(rate)} pps: lost ${lost}\n`),
  });
  process.stderr.write(`repetition ${r + 1}: ${result.ratePps} pps\n`);
  rates.push(result.ratePps);
}
const summary = { family: Number(o.family), size: Number(o.size), streams: Number(o.streams), threads: Math.min(Number(o.threads), Number(o.streams)), ratePps: median(rates), repetitions: rates };
console.log(o.json ? JSON.stringify(summary) : `calibration ceiling: ${summary.ratePps.toLocaleString('en-US')} packets/s at ${summary.size}-byte payloads over IPv${summary.family}, ${summary.streams} stream(s), ${summary.threads} thread(s) (median of ${rates.join(', ')})`);
