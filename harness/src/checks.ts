// Verdicts a run records: each check names where it looked, what it measured and the limit.

export interface Check {
  name: string;
  scenario: string;
  step: string;
  contender: string;
  stream?: number;
  metric: string;
  value: number;
  limit: string;
  pass: boolean;
}

export function checkAtMost(base: Omit<Check, 'limit' | 'pass'>, max: number): Check {
  return { ...base, limit: `<= ${max}`, pass: base.value <= max };
}

export function checkAtLeast(base: Omit<Check, 'limit' | 'pass'>, min: number): Check {
  return { ...base, limit: `>= ${min}`, pass: base.value >= min };
}

export function describeCheck(c: Check): string {
  const where = [c.scenario, `step ${c.step}`, c.contender, c.stream === undefined ? undefined : `stream ${c.stream}`].filter(Boolean).join(' / ');
  return `${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${where}: ${c.metric} = ${c.value} (limit ${c.limit})`;
}
