// A run's gated figures as github-action-benchmark entries: its benchmark.json when it was gated,
// otherwise computed from result.json by the same exporter that writes benchmark.json.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { benchmarkEntries, type BenchmarkEntry } from '../export/benchmark.js';
import type { RunResult } from '../result.js';

export interface RunBenchmark {
  entries: BenchmarkEntry[];
  source: 'benchmark.json' | 'result.json';
  /** Why a benchmark.json beside the run was not used. */
  note?: string;
}

function isEntry(value: unknown): value is BenchmarkEntry {
  const e = value as BenchmarkEntry;
  return typeof e === 'object' && e !== null && typeof e.name === 'string' && typeof e.unit === 'string' && typeof e.value === 'number';
}

export function runBenchmark(runDir: string, result: RunResult): RunBenchmark {
  const file = path.join(runDir, 'benchmark.json');
  let note: string | undefined;
  if (existsSync(file)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (Array.isArray(parsed) && parsed.every(isEntry)) return { entries: parsed, source: 'benchmark.json' };
      note = `${file} is not a list of {name, unit, value} entries: figures computed from result.json`;
    } catch (err) {
      note = `cannot read ${file} (${(err as Error).message}): figures computed from result.json`;
    }
  }
  try {
    const { bigger, smaller } = benchmarkEntries(result);
    return { entries: [...bigger, ...smaller], source: 'result.json', ...(note ? { note } : {}) };
  } catch (err) {
    // A result.json with a field of the wrong type costs this run its points, not the site.
    return { entries: [], source: 'result.json', note: `${note ? `${note}; ` : ''}no figures: they cannot be computed from result.json (${(err as Error).message})` };
  }
}
