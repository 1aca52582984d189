// Running a libFuzzer target for a while: seeds its corpus, runs it, and says what it found.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { $ } from 'zx';
import { frame, frame6 } from './frames.js';

export interface FuzzRun {
  ok: boolean;
  executions: number;
  corpusSize: number;
  /** The input that crashed the target, when one did. */
  artifact?: string;
  /** The sanitizer's report (its first 40 lines) when it failed, else libFuzzer's last lines. */
  report: string;
  /** The report's one-line SUMMARY, e.g. "AddressSanitizer: heap-buffer-overflow … in parse_frame". */
  summary?: string;
}

/** Valid and nearly valid frames, so the parser's fuzzing starts past the first checks. */
export function parseSeeds(): Buffer[] {
  return [
    frame(),
    frame({ payload: 0 }),
    frame({ options: 8 }),
    frame({ tags: [[0x8100, 10]] }),
    frame({ tags: [[0x88a8, 10], [0x8100, 20]] }),
    frame({ flagsFragment: 0x2000 }),
    frame({ proto: 6 }),
    frame({ dst: [10, 0, 0, 2] }),
    frame({ padding: 18 }),
    frame6({ dst: 'ff15::1:1' }),
    frame6({ dst: 'ff15::1:1', ext: [{ type: 0 }, { type: 60, size: 16 }, { type: 43 }] }),
    frame6({ dst: 'ff15::1:1', ext: [{ type: 44, more: true }] }),
    frame6({ dst: 'ff15::1:1', tags: [[0x8100, 10]] }),
  ];
}

export function seedCorpus(dir: string, seeds: Buffer[]): void {
  mkdirSync(dir, { recursive: true });
  seeds.forEach((seed, i) => writeFileSync(path.join(dir, `seed-${i}`), seed));
}

/** From the sanitizer's (or libFuzzer's) first error line on: the finding and its stack. */
function sanitizerReport(output: string): string {
  const lines = output.trim().split('\n');
  const start = lines.findIndex((l) => /==\d+==ERROR|runtime error:|deadly signal/.test(l));
  return (start >= 0 ? lines.slice(start, start + 40) : lines.slice(-20)).join('\n');
}

/** Runs `binary` for `seconds` on `corpus` (grown in place); a crash's input lands in `artifacts`. */
export async function runFuzzer(binary: string, seconds: number, corpus: string, artifacts: string): Promise<FuzzRun> {
  mkdirSync(corpus, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const before = new Set(readdirSync(artifacts));
  const run = await $`${binary} -max_total_time=${seconds} -print_final_stats=1 -artifact_prefix=${artifacts + path.sep} ${corpus}`.quiet().nothrow();
  const output = run.stderr + run.stdout;
  const stat = (name: string) => Number(new RegExp(`stat::${name}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
  const found = readdirSync(artifacts).filter((f) => !before.has(f));
  return {
    ok: run.exitCode === 0 && found.length === 0,
    executions: stat('number_of_executed_units'),
    corpusSize: readdirSync(corpus).length,
    artifact: found.length ? path.join(artifacts, found[0]) : undefined,
    report: sanitizerReport(output),
    summary: /^SUMMARY: (.*)$/m.exec(output)?.[1],
  };
}
