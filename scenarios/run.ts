// Runs a scenario: preflight, calibration, every step for every contender and repetition,
// checks, result.json, reports.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { calibrate } from '../harness/src/calibrate.js';
import { describeCheck, type Check } from '../harness/src/checks.js';
import { kernelContender } from '../harness/src/contenders/kernel.js';
import { relayContender } from '../harness/src/contenders/relay.js';
import { socatContender } from '../harness/src/contenders/socat.js';
import type { Contender, ContenderName } from '../harness/src/contenders/types.js';
import { commandExists } from '../harness/src/contenders/which.js';
import { collectEnvironment } from '../harness/src/environment.js';
import { GEN_BIN, SINK_BIN } from '../harness/src/binaries.js';
import { Progress } from '../harness/src/progress.js';
import { newRunId, runDir, writeResult, type Calibration, type RunResult, type StepResult } from '../harness/src/result.js';
import { evaluateGates, loadGateFile } from '../harness/src/gate.js';
import { verdictOf } from '../harness/src/checks.js';
import { runContenderStep, type StepOptions } from '../harness/src/step.js';
import { projectRoot } from '../relay/src/api.js';
import type { Scenario, ScenarioOptions, StepPlan } from './scenario.js';

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

/**
 * The instrument's ceiling per payload size, calibrated once per size. A failed calibration fails
 * the run: without the ceiling no rate can be judged offerable, and no NDR told from the
 * generator's limit.
 */
class Calibrations {
  readonly bySize = new Map<number, Calibration | null>();
  readonly failures: Check[] = [];

  constructor(
    private readonly scenario: Scenario,
    private readonly n: number,
    private readonly options: ScenarioOptions,
    private readonly quiet: boolean,
  ) {}

  async at(size: number): Promise<Calibration | null> {
    if (this.bySize.has(size)) return this.bySize.get(size)!;
    if (!this.quiet) process.stderr.write(`calibrating the instrument (${size}-byte payloads)\n`);
    let found: Calibration | null = null;
    try {
      const { threads, mtu, family, cpus } = this.options;
      const streams = this.scenario.calibrationStreams?.(this.n) ?? threads;
      found = await calibrate({ size, streams, threads, probeSeconds: 0.3, iterations: 4, mtu, family, cpus });
    } catch (err) {
      if (!this.quiet) process.stderr.write(`calibration failed: ${(err as Error).message}\n`);
      this.failures.push({ name: 'instrument calibration', scenario: this.scenario.name, step: `${size}B`, contender: 'instrument', metric: `failed: ${(err as Error).message}`, value: 0, limit: 'a zero-loss ceiling', pass: false });
    }
    this.bySize.set(size, found);
    return found;
  }
}

/** What one contender runs for one repetition of a step: the plan's settings over the run's options. */
function contenderStep(plan: StepPlan, name: ContenderName, repetition: number, options: ScenarioOptions, runId: number, dir: string): StepOptions {
  const relay = name === 'relay';
  return {
    contender: CONTENDERS[name],
    series: relay && plan.relaySeries ? plan.relaySeries : name,
    control: relay ? plan.relayControl : undefined,
    exemptFromLoss: plan.exemptFromLoss,
    drainSeconds: plan.drainSeconds,
    fault: plan.fault,
    sampleSeconds: plan.sampleSeconds,
    profile: plan.profile,
    relayFlags: plan.relayFlags,
    streams: plan.streams,
    ratePps: plan.ratePps ?? options.ratePps,
    count: plan.count ?? options.count,
    size: plan.size ?? options.size,
    warmup: plan.warmup ?? options.warmup,
    workers: plan.workers,
    fanout: plan.fanout,
    ingress: options.ingress,
    egress: options.egress,
    bridge: options.bridge,
    mtu: options.mtu,
    topology: options.topology,
    family: options.family,
    threads: options.threads,
    ttl: options.ttl,
    tos: options.tos,
    impairments: options.impairments,
    cpus: options.cpus,
    runId,
    repetition,
    logDir: path.join(dir, 'logs', `${plan.step.replace(/[/ ]/g, '-')}-${name}-r${repetition}`),
  };
}

/** Refuses a step that offers more than the instrument sends here: its loss would measure the generator. */
function assertOfferable(plan: StepPlan, options: ScenarioOptions, calibration: Calibration | null): void {
  const rate = plan.ratePps ?? options.ratePps;
  const offered = plan.profile ? Math.max(...plan.profile.map((s) => s.ratePps)) : plan.streams * rate;
  if (!calibration || offered <= calibration.ratePps) return;
  throw new PreflightError(
    `step ${plan.step} offers ${offered.toLocaleString('en-US')} packets/s (${plan.streams} streams × ${rate.toLocaleString('en-US')}), ` +
      `more than the instrument sends on this machine: calibrated ceiling ${calibration.ratePps.toLocaleString('en-US')} packets/s at ${options.size}-byte payloads with ${calibration.threads} generator thread(s). ` +
      'Loss there would measure the generator, not the contenders: lower --rate or --streams, or add --threads.',
  );
}

export async function runScenario(scenario: Scenario, n: number, options: ScenarioOptions, command: string, quiet = false): Promise<RunOutcome> {
  await preflight();
  const startedAt = new Date().toISOString();
  const runId = newRunId(scenario.name);
  const dir = runDir(runId);
  const calibrations = new Calibrations(scenario, n, options, quiet);
  const calibration = await calibrations.at(options.size);
  const progress = new Progress(scenario.estimateRuns(n, options), quiet);
  const steps: StepResult[] = [];
  const runIdNumber = randomInt(1, 2 ** 31);

  const runStep = async (plan: StepPlan, only?: number): Promise<StepResult> => {
    const step: StepResult = { step: plan.step, x: plan.x, params: plan.params, runs: [] };
    steps.push(step);
    const repetitions = only === undefined ? Array.from({ length: options.repetitions }, (_, i) => i + 1) : [only];
    for (const repetition of repetitions) {
      for (const name of plan.contenders) {
        progress.update(`step ${plan.step}: ${name}${options.repetitions > 1 ? ` (repetition ${repetition})` : ''}`);
        const input = contenderStep(plan, name, repetition, options, runIdNumber + steps.length * 1000 + repetition * 10, dir);
        const run = await (plan.runner ?? runContenderStep)(input);
        if (run.status !== 'ok') progress.note(`step ${plan.step} ${name}: ${run.status}: ${run.reason}`);
        step.runs.push(run);
        progress.tick();
      }
    }
    return step;
  };

  let searches;
  let limits;
  try {
    const ceilingFor = async (size: number) => (await calibrations.at(size))?.ratePps ?? 0;
    ({ searches, limits } = await scenario.run(n, { options, ceilingFor, runStep, assertOfferable: (plan) => assertOfferable(plan, options, calibration) }));
  } catch (err) {
    if (err instanceof PreflightError && steps.length === 0) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  progress.finish();

  const result: RunResult = {
    schema: 'mcr-result',
    schemaVersion: 2,
    runId,
    scenario: scenario.name,
    command,
    startedAt,
    finishedAt: new Date().toISOString(),
    parameters: { n, ...options },
    topology: options.topology,
    required: options.require,
    presentation: scenario.presentation,
    environment: await collectEnvironment(),
    calibration,
    calibrations: [...calibrations.bySize.values()].filter((c): c is Calibration => c !== null),
    steps,
    ...(searches ? { searches } : {}),
    ...(limits ? { limits } : {}),
    scenarioChecks: [...calibrations.failures, ...(scenario.checks?.(steps, options) ?? [])],
    checks: [],
    verdict: 'pass',
  };
  // The gates without a baseline (loss limit from --max-loss) and the scenario's own checks decide the verdict.
  const gates = loadGateFile();
  gates.absolute.relayMaxLossPct = options.maxLossPct;
  result.checks = evaluateGates(result, gates);
  result.verdict = verdictOf(result.checks);
  writeResult(dir, result);
  for (const c of result.checks.filter((x) => !x.pass)) progress.note(describeCheck(c));
  return { result, dir };
}
