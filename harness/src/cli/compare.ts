// npm run compare -- <run-a> <run-b>
import { Command } from 'commander';
import { renderTable } from '../../../relay/src/api.js';
import { compareRuns } from '../compare.js';
import { readResult } from '../result.js';

const fmt = (n: number) => (Number.isNaN(n) ? '-' : Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(3));

const program = new Command('compare')
  .description('Per step and contender, how each metric changed from run A to run B.')
  .argument('<run-a>', 'results/<run-id> of the earlier run')
  .argument('<run-b>', 'results/<run-id> of the later run')
  .option('--json', 'print JSON')
  .option('--all', 'also list unchanged metrics')
  .addHelpText('after', `
A change is marked regression or improvement only when it exceeds the noise: the wider spread
(max - min over repetitions) of the two runs for that step, contender and metric, and at least a
floor (loss 0.05 points, duplicates/reordered 1 packet, delivered rate 5%, p50 25%, p99 50%).
Run scenarios with --repetitions 3 or more for a measured noise. Exit status 1 when a regression is found.`)
  .action((a: string, b: string, o: { json?: boolean; all?: boolean }) => {
    const [ra, rb] = [readResult(a), readResult(b)];
    const differing = Object.keys({ ...ra.parameters, ...rb.parameters }).filter((k) => JSON.stringify(ra.parameters[k]) !== JSON.stringify(rb.parameters[k]));
    if (differing.length) console.error(`note: the runs used different parameters (${differing.map((k) => `${k}: ${JSON.stringify(ra.parameters[k])} -> ${JSON.stringify(rb.parameters[k])}`).join(', ')})`);
    const changes = compareRuns(ra, rb);
    const shown = o.all ? changes : changes.filter((c) => c.verdict !== 'same');
    if (o.json) console.log(JSON.stringify(changes, null, 2));
    else if (shown.length === 0) console.log(`no change beyond the noise in ${changes.length} metrics`);
    else console.log(renderTable(['step', 'contender', 'metric', 'A', 'B', 'noise', 'verdict'], shown.map((c) => [c.step, c.series, c.metric, fmt(c.a), fmt(c.b), fmt(c.noise), c.verdict.toUpperCase()])));
    process.exit(changes.some((c) => c.verdict === 'regression') ? 1 : 0);
  });

program.parseAsync().catch((err: Error) => {
  console.error(`compare: ${err.message}`);
  process.exit(2);
});
