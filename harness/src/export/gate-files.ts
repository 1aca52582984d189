// The files a gate verdict leaves beside result.json for CI: junit.xml, gate.json and the
// github-action-benchmark inputs.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { verdictOf, type Check } from '../checks.js';
import type { RunResult } from '../result.js';
import { benchmarkEntries } from './benchmark.js';
import { junitXml } from './junit.js';

export function writeGateFiles(dir: string, result: RunResult, checks: Check[], baselineRunId: string | null): void {
  const write = (name: string, value: unknown) => writeFileSync(path.join(dir, name), typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');
  write('junit.xml', junitXml(result, checks));
  const { bigger, smaller } = benchmarkEntries(result);
  write('benchmark-bigger-is-better.json', bigger);
  write('benchmark-smaller-is-better.json', smaller);
  write('benchmark.json', [...bigger, ...smaller]);
  write('gate.json', { verdict: verdictOf(checks), baseline: baselineRunId, checks });
}
