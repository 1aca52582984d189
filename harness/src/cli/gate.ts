// npm run gate -- results/<run-id>
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describeCheck, gatedTally, verdictOf } from '../checks.js';
import { writeGateFiles } from '../export/gate-files.js';
import { BASELINE_DIR, baselineFromResult, baselinePath, DEFAULT_GATE_FILE, gateRun, loadGateFile } from '../gate.js';
import { readResult } from '../result.js';

const program = new Command('gate')
  .description('Evaluate a run against the gates (absolute limits, ratios to socat, IGMP joins, required contenders) and the committed baseline; writes junit.xml, gate.json and benchmark*.json beside result.json.')
  .argument('<run-dir>', 'results/<run-id>')
  .option('--gates <file>', 'gate file', DEFAULT_GATE_FILE)
  .option('--no-baseline', 'skip the regression checks')
  .option('--baselines <dir>', 'directory of baselines, one per scenario and load', BASELINE_DIR)
  .option('--update-baseline', "store this run as its load's baseline, <baselines>/<scenario>/<N>-<load hash>.json (after it passes the gates other than regression)")
  .addHelpText('after', '\nExit status: 0 pass, 1 a gate failed (or none could be evaluated), 2 could not evaluate.')
  .action((dir: string, o: { gates: string; baseline: boolean; baselines: string; updateBaseline?: boolean }) => {
    const runDir = dir.replace(/\/result\.json$/, '');
    const result = readResult(runDir);
    // A run that becomes the baseline is not compared with the one it replaces (which may have been
    // made with other parameters, or by an older version).
    const { checks, baseline } = gateRun(result, loadGateFile(o.gates), o.baseline && !o.updateBaseline, o.baselines);
    writeGateFiles(runDir, result, checks, baseline?.runId ?? null);
    for (const c of checks) if (!c.pass || c.advisory) console.log(describeCheck(c));
    const verdict = verdictOf(checks);
    const { passed, total } = gatedTally(checks);
    console.log(`gate ${verdict.toUpperCase()}: ${result.scenario} ${result.runId}: ${passed}/${total} checks passed${baseline ? ` (baseline ${baseline.runId})` : ' (no baseline)'}`);
    if (verdict === 'pass' && o.updateBaseline) {
      const file = baselinePath(result, o.baselines);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(baselineFromResult(result), null, 2) + '\n');
      console.log(`baseline written: ${file}`);
    }
    process.exit(verdict === 'pass' ? 0 : 1);
  });

program.parseAsync().catch((err: Error) => {
  console.error(`gate: ${err.message}`);
  process.exit(2);
});
