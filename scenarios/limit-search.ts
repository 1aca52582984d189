// The search capacity and replication share: try the upper bound, then bisect below it with
// throughput's bisect, each trial one contender run; a run that fails or is skipped counts as a
// failed trial, its reason kept (what limits the contender).
import type { ContenderName } from '../harness/src/contenders/types.js';
import type { LimitSearch, LimitTrial } from '../harness/src/limit-search.js';
import type { ScenarioContext, StepPlan } from './scenario.js';
import { bisect } from './throughput.js';

/** Trials per search at most, whatever the resolution (throughput's budget). */
export const MAX_TRIALS = 12;

export interface LimitSearchPlan {
  over: string;
  subject: string;
  contender: ContenderName;
  repetition: number;
  upper: number;
  upperRule: string;
  copies?: number;
  /** The run of one trial at a value. */
  planAt(value: number): StepPlan;
}

/** A trial passes when the run was ok and its sinks counted nothing lost and nothing duplicated. */
async function trial(ctx: ScenarioContext, p: LimitSearchPlan, value: number): Promise<LimitTrial> {
  const plan = p.planAt(value);
  const run = (await ctx.runStep(plan, p.repetition)).runs[0];
  if (run?.status !== 'ok' || !run.aggregate) return { value, pass: false, lossPct: null, duplicates: 0, step: plan.step, reason: `${run?.status ?? 'did not run'}: ${run?.reason ?? ''}` };
  const a = run.aggregate;
  // Asked: the plan's rate per stream over its streams, or per copy over the copies (the aggregate counts copies).
  const asked = (plan.ratePps ?? ctx.options.ratePps) * (p.copies ?? plan.streams);
  const pass = a.lost === 0 && a.duplicates === 0 && a.expected > 0;
  return { value, pass, lossPct: a.lossPct, duplicates: a.duplicates, step: plan.step, deliveredPps: Math.round(a.deliveredPps), cpuUsPerPacket: a.cpuUsPerPacket, offeredShare: Math.round((a.offeredPps / asked) * 1000) / 1000, ...(pass ? {} : { reason: `${a.lost} of ${a.expected} lost (${a.lossPct.toFixed(3)} %), ${a.duplicates} duplicates` }) };
}

/** Whether a skipped trial means the contender cannot run here at all (then there is nothing to search). */
const cannotRun = (t: LimitTrial) => t.lossPct === null && /^skipped/.test(t.reason ?? '');

export async function searchLimit(ctx: ScenarioContext, p: LimitSearchPlan): Promise<LimitSearch | undefined> {
  const trials: LimitTrial[] = [];
  const at = async (value: number) => {
    const seen = trials.find((t) => t.value === value);
    if (seen) return seen;
    const t = await trial(ctx, p, value);
    trials.push(t);
    return t;
  };
  const top = await at(p.upper);
  if (cannotRun(top)) return undefined;
  const found = top.pass ? p.upper : await bisect(0, p.upper, ctx.options.resolution, async (v) => (await at(v)).pass, () => trials.length < MAX_TRIALS);
  const firstFail = trials.filter((t) => !t.pass && t.value > found).sort((a, b) => a.value - b.value)[0];
  return {
    over: p.over,
    subject: p.subject,
    contender: p.contender,
    series: p.contender,
    repetition: p.repetition,
    found,
    upper: p.upper,
    upperRule: p.upperRule,
    atUpper: top.pass,
    ...(firstFail ? { limitedBy: `at ${firstFail.value.toLocaleString('en-US')} ${p.over}: ${firstFail.reason}` } : {}),
    ...(p.copies ? { copies: p.copies } : {}),
    trials,
  };
}
