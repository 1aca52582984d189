// The runs a site is built from. Like readRuns (report/run-index.ts), but a result.json whose
// fields the index and trend pages read have the wrong type is skipped with the reason, instead
// of throwing in the middle of a publish: a results folder is data from test machines.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readResult } from '../result.js';
import { gateVerdict, type IndexedRun } from '../report/run-index.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What in a result the site's own pages (not the per-run report, which is guarded apart) cannot read; undefined when all is readable. */
export function unreadableField(result: unknown): string | undefined {
  if (!isObject(result)) return 'not an object';
  for (const key of ['scenario', 'startedAt'] as const) if (typeof result[key] !== 'string') return `${key} is not a string`;
  if (!isObject(result.parameters)) return 'parameters is not an object';
  const git = isObject(result.environment) ? result.environment.git : undefined;
  if (!isObject(git)) return 'environment.git is not an object';
  if (git.commit !== undefined && git.commit !== null && typeof git.commit !== 'string') return 'environment.git.commit is not a string';
  if (!Array.isArray(result.steps)) return 'steps is not a list';
  for (const step of result.steps) {
    if (!isObject(step) || !Array.isArray(step.runs)) return 'a step has no list of runs';
    if (!step.runs.every((r) => isObject(r) && (r.aggregate === undefined || isObject(r.aggregate)))) return "a step's run or its aggregate is not an object";
  }
  return undefined;
}

/** Every directory of resultsDir with a readable, well-typed result.json, newest first; the others are passed to onSkip. */
export function readPublishableRuns(resultsDir: string, onSkip: (dir: string, why: string) => void): IndexedRun[] {
  return readdirSync(resultsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(resultsDir, d.name, 'result.json')))
    .flatMap((d) => {
      const dir = path.join(resultsDir, d.name);
      try {
        const result = readResult(dir);
        const why = unreadableField(result);
        if (why) throw new Error(`result.json: ${why}`);
        return [{ dir: d.name, result, gate: gateVerdict(dir) }];
      } catch (err) {
        onSkip(d.name, (err as Error).message);
        return [];
      }
    })
    .sort((a, b) => b.result.startedAt.localeCompare(a.result.startedAt) || b.dir.localeCompare(a.dir));
}
