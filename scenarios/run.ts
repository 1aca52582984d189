// Runs a scenario: preflight, calibration, every step for every contender and repetition,
// checks, result.json, reports.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { calibrate } from '../harness/src/calibrate.js';
import { describeCheck } from '../harness/src/checks.js';
import { kernelContender } from '../harness/src/contenders/kernel.js';
import { relayContender } from '../harness/src/contenders/relay.js';
import { socatContender } from '../harness/src/contenders/socat.js';
import type { Contender, ContenderName } from '../harness/src/contenders/types.js';
import { commandExists } from '../harness/src/contenders/which.js';
import { collectEnvironment } from '../harness/src/environment.js';
import { GEN_BIN, SINK_BIN } from '../harness/src/binaries.js';
import { Progress } from '../harness/src/progress.js';
import { newRunId, runDir, writeResult, type Calibration, type RunResult, type StepResult } from '../harness/src/result.js';
import { runContenderStep } from '../harness/src/step.js';
import { projectRoot } from '../relay/src/native.js';
import type { Scenario, ScenarioOptions } from './scenario.js';

const CONTENDERS: Record<ContenderName, Contender> = { relay: relayContender, socat: socatContender, kernel: kernelContender };

export class PreflightError extends Error {}

/** Everything the run cannot do without, each missing piece named with how to get it. */
export async function preflight(): Promise<void> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('must run as root (network namespaces, AF_PACKET): sudo npm run scenario ...');
  if (!(await commandExists('ip'))) problems.push("'ip' not found: apt-get install iproute2");
  for (const [what, file] of [['native addon', path.join(projectRoot, 'build', 'Release', 'mcr.node')], ['generator', GEN_BIN], ['sink', SINK_BIN]]) {
    if (!existsSync(file)) problems.push(`${what} ${file} missing: run 'npm install' (or 'npm run build')`);
  }
  if (problems.length) throw new PreflightError(`cannot run:\n  - ${problems.join('\n  - ')}`);
}

export interface RunOutcome {
  result: RunResult;
  dir: string;
}

export async function runScenario(scenario: Scenario, n: number, options: ScenarioOptions, command: string, quiet = false): Promise<RunOutcome> {
  await preflight();
  const startedAt = new Date().toISOString();
  const runId = newRunId(scenario.name);
  const dir = runDir(runId);
  if (!quiet) process.stderr.write('calibrating the instrument\n');
  let calibration: Calibration | null = null;
  try {
    calibration = await calibrate({ size: options.size, probeSeconds: 0.3, iterations: 4 });
  } catch (err) {
    if (!quiet) process.stderr.write(`calibration failed: ${(err as Error).message}\n`);
  }
  const plans = scenario.plan(n, options, calibration?.ratePps ?? 0);
  const units = plans.reduce((total, p) => total + p.contenders.length * options.repetitions, 0);
  const progress = new Progress(units, quiet);

  const steps: StepResult[] = [];
  const runIdNumber = randomInt(1, 2 ** 31);
  for (const plan of plans) {
    const step: StepResult = { step: plan.step, params: plan.params, runs: [] };
    steps.push(step);
    for (let repetition = 1; repetition <= options.repetitions; repetition++) {
      for (const name of plan.contenders) {
        progress.update(`step ${plan.step}: ${name}${options.repetitions > 1 ? ` (repetition ${repetition})` : ''}`);
        const run = await runContenderStep({
          contender: CONTENDERS[name],
          streams: plan.streams,
          ratePps: plan.ratePps ?? options.ratePps,
          count: plan.count ?? options.count,
          size: options.size,
          warmup: options.warmup,
          workers: plan.workers,
          fanout: plan.fanout,
          ingress: options.ingress,
          bridge: options.bridge,
          egressLimit: options.egressLimit,
          runId: runIdNumber + steps.length * 1000 + repetition * 10,
          repetition,
          logDir: path.join(dir, 'logs', `${plan.step.replace(/\//g, '-')}-${name}-r${repetition}`),
        });
        if (run.status !== 'ok') progress.note(`step ${plan.step} ${name}: ${run.status}: ${run.reason}`);
        step.runs.push(run);
        progress.tick();
      }
    }
  }
  progress.finish();

  const environment = await collectEnvironment();
  const checks = scenario.checks(steps, options);
  const failedRuns = steps.flatMap((s) => s.runs.filter((r) => r.status === 'failed' && r.contender === 'relay'));
  for (const r of failedRuns) {
    checks.push({ name: 'relay ran', scenario: scenario.name, step: String(r.params.streams), contender: 'relay', metric: 'failed', value: 1, limit: '0', pass: false });
  }
  const result: RunResult = {
    schema: 'mcr-result',
    schemaVersion: 1,
    runId,
    scenario: scenario.name,
    command,
    startedAt,
    finishedAt: new Date().toISOString(),
    parameters: { n, ...options },
    environment,
    calibration,
    steps,
    checks,
    verdict: checks.every((c) => c.pass) ? 'pass' : 'fail',
  };
  writeResult(dir, result);
  for (const c of checks.filter((x) => !x.pass)) progress.note(describeCheck(c));
  return { result, dir };
}
