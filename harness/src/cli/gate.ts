// npm run gate -- results/<run-id>
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { describeCheck } from '../checks.js';
import { baselineFromResult, baselinePath, DEFAULT_GATE_FILE, gateRun, loadBaseline, loadGateFile } from '../gate.js';
import { readResult } from '../result.js';

const program = new Command('gate')
  .description('Evaluate a run against absolute limits and the committed baseline; writes junit.xml, gate.json and benchmark*.json beside result.json.')
  .argument('<run-dir>', 'results/<run-id>')
  .option('--gates <file>', 'gate file', DEFAULT_GATE_FILE)
  .option('--no-baseline', 'skip the regression checks')
  .option('--update-baseline', 'store this run as results/baselines/<scenario>.json (after it passes)')
  .addHelpText('after', '\nExit status: 0 pass, 1 a gate failed, 2 could not evaluate.')
  .action((dir: string, o: { gates: string; baseline: boolean; updateBaseline?: boolean }) => {
    const runDir = dir.replace(/\/result\.json$/, '');
    const result = readResult(runDir);
    const baseline = o.baseline ? loadBaseline(result.scenario) : undefined;
    const checks = gateRun(runDir, result, loadGateFile(o.gates), baseline);
    for (const c of checks) if (!c.pass) console.log(describeCheck(c));
    const pass = checks.every((c) => c.pass);
    console.log(`gate ${pass ? 'PASS' : 'FAIL'}: ${result.scenario} ${result.runId}: ${checks.filter((c) => c.pass).length}/${checks.length} checks passed${baseline ? ` (baseline ${baseline.runId})` : ' (no baseline)'}`);
    if (pass && o.updateBaseline) {
      writeFileSync(baselinePath(result.scenario), JSON.stringify(baselineFromResult(result), null, 2) + '\n');
      console.log(`baseline written: ${baselinePath(result.scenario)}`);
    }
    process.exit(pass ? 0 : 1);
  });

program.parseAsync().catch((err: Error) => {
  console.error(`gate: ${err.message}`);
  process.exit(2);
});
