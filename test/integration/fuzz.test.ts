// The fuzz runner under `npm run fuzz`: it reports a planted out-of-bounds read with the input that
// shows it (so a clean run means something), and runs the relay's targets clean.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $ } from 'zx';
import { describe, expect, it } from 'vitest';
import { runFuzzer } from '../../harness/src/fuzz.js';
import { FUZZ_TARGETS, buildFuzzTarget, requireClang } from '../../harness/src/sanitizers.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip } from './env.js';

const clang = await requireClang().then(() => undefined, (err: Error) => err.message);
// CI installs clang (npm run setup): there a missing compiler is a failure, not a skip.
const reason = process.env.CI === 'true' ? undefined : clang;
announceSkip('fuzz runner', reason);

describe.skipIf(reason)('fuzz runner', () => {
  it('finds a planted read past the end, names it and keeps the input that reproduces it', async () => {
    const binary = await buildFuzzTarget({ name: 'planted', sources: [] }, path.join(projectRoot, 'test/integration/fixtures/planted_fuzz.cc'));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-fuzz-'));
    const run = await runFuzzer(binary, 30, path.join(dir, 'corpus'), path.join(dir, 'artifacts'));
    expect(run.ok).toBe(false);
    expect(run.summary).toMatch(/AddressSanitizer: heap-buffer-overflow .*planted_fuzz.cc:7/);
    expect(run.report).toMatch(/READ of size 1/);
    expect(run.artifact).toBeDefined();
    const replay = await $`${binary} ${run.artifact!}`.quiet().nothrow();
    expect(replay.exitCode).not.toBe(0);
    expect(replay.stderr).toMatch(/heap-buffer-overflow/);
  });

  it.each(FUZZ_TARGETS.map((t) => [t.name, t] as const))('the %s target runs clean for 3 s', async (_name, target) => {
    const binary = await buildFuzzTarget(target);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-fuzz-'));
    const run = await runFuzzer(binary, 3, path.join(dir, 'corpus'), path.join(dir, 'artifacts'));
    expect(run.summary).toBeUndefined();
    expect(run.ok).toBe(true);
    expect(run.executions).toBeGreaterThan(1000);
  });
});
