// npm run publish-results -- OUT_DIR [--from results]: a static site of every run and the trends.
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { PublishInputError, publishSite } from '../publish/site.js';
import { RESULTS_DIR } from '../result.js';

const program = new Command('publish-results')
  .description('Build a static site from the runs in a results folder: an index of every run (time, scenario, commit, verdict), each run\'s report, and per scenario a page of trend charts of the gated metrics across runs, one point per run labelled with its commit.')
  .argument('<out-dir>', 'directory to write the site into (new, empty, or a site published before, which is rebuilt)')
  .option('--from <dir>', 'results folder holding <run-id>/result.json directories', path.relative(process.cwd(), RESULTS_DIR) || '.')
  .option('--quiet', 'no progress on stderr')
  .addHelpText('after', `
The site is self-contained: charts are SVG drawn at build time (vega-lite), no script, nothing
fetched; open OUT_DIR/index.html from disk or serve the folder as it is. Each run's figures come
from its benchmark.json (written by --gate or npm run gate) or, without one, are computed from
result.json by the same exporter.

Safe whatever the results folder holds: every value from result.json is HTML-escaped, each run's
report.html, report.md and charts are rendered afresh from its result.json (the run's own files
are not copied), every page carries a Content-Security-Policy allowing no script and no loads,
and links are relative with each path segment percent-encoded. Copied per run: only gate.json and
benchmark*.json; junit.xml, result.json and logs/ stay in the results folder.

Exit status: 0 written (the last line on stdout is the index's path), 2 nothing written: no
results folder, no readable run in it, or OUT_DIR inside a run, equal to the results folder, or
not empty and not a site published before.`)
  .exitOverride()
  .action(async (out: string, o: { from: string; quiet?: boolean }) => {
    const { index } = await publishSite({ from: o.from, out, quiet: o.quiet });
    console.log(path.resolve(index));
  });

program.parseAsync().catch((err: Error) => {
  // Commander has printed its own usage errors; --help and --version exit 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  console.error(`publish-results: ${err instanceof PublishInputError ? err.message : (err.stack ?? err.message)}`);
  process.exit(2);
});
