// npm run report -- results/<run-id>: re-renders report.md, report.html and charts from result.json.
import { Command } from 'commander';
import { renderReport } from '../report/render.js';

const program = new Command('report')
  .description('Re-render a run\'s reports (report.md, report.html, *.svg) from its result.json alone, and results/index.html.')
  .argument('<run-dir...>', 'results/<run-id> directories (or their result.json)')
  .action(async (dirs: string[]) => {
    for (const dir of dirs) {
      const files = await renderReport(dir.replace(/\/result\.json$/, ''));
      console.log(files.join('\n'));
    }
  });

program.parseAsync().catch((err: Error) => {
  console.error(`report: ${err.message}`);
  process.exit(2);
});
