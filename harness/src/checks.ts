// Verdicts a run records: each check names where it looked, what it measured and the limit.

export interface Check {
  name: string;
  scenario: string;
  step: string;
  contender: string;
  stream?: number;
  /** The repetition the value comes from, when a step ran more than once. */
  repetition?: number;
  metric: string;
  value: number;
  limit: string;
  pass: boolean;
  /** Reported but not gated (e.g. a ratio whose limit is not set): never fails the verdict. */
  advisory?: boolean;
}

export function checkAtMost(base: Omit<Check, 'limit' | 'pass'>, max: number): Check {
  return { ...base, limit: `<= ${max}`, pass: base.value <= max };
}

export function checkAtLeast(base: Omit<Check, 'limit' | 'pass'>, min: number): Check {
  return { ...base, limit: `>= ${min}`, pass: base.value >= min };
}

/** Gated (not advisory) checks: how many passed, of how many. */
export function gatedTally(checks: Check[]): { passed: number; total: number } {
  const gated = checks.filter((c) => !c.advisory);
  return { passed: gated.filter((c) => c.pass).length, total: gated.length };
}

/** A verdict needs at least one gated check, and no gated check failing. */
export function verdictOf(checks: Check[]): 'pass' | 'fail' {
  const { passed, total } = gatedTally(checks);
  return total > 0 && passed === total ? 'pass' : 'fail';
}

export function describeCheck(c: Check): string {
  const where = [c.scenario, `step ${c.step}`, c.contender, c.stream === undefined ? undefined : `stream ${c.stream}`, c.repetition === undefined ? undefined : `repetition ${c.repetition}`].filter(Boolean).join(' / ');
  const status = c.advisory ? 'INFO' : c.pass ? 'PASS' : 'FAIL';
  return `${status} ${c.name}: ${where}: ${c.metric} = ${c.value} (limit ${c.limit}${c.advisory ? ', not gated' : ''})`;
}
