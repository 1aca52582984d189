// test:sanitized hears from every process: a bug planted on a path only mcrd's workers run (they
// run as nobody) is reported by the worker and fails the run, as the planted fuzz fault does for
// the fuzz runner (fuzz.test.ts).
import { execa } from 'execa';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireClang } from '../../harness/src/sanitizers.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';

const clang = await requireClang().then(() => undefined, (err: Error) => err.message);
// CI installs clang (npm run setup): there a missing compiler is a failure, not a skip.
const reason = (process.env.CI === 'true' ? undefined : clang) ?? skipReason([]);
announceSkip('sanitizers in the workers', reason);

const NOBODY = 65534;

describe.skipIf(reason)('test:sanitized', () => {
  it("fails on a report from a worker: a read past a heap buffer planted in the workers' send path", async () => {
    const run = await execa(process.execPath, [path.join(projectRoot, 'dist', 'harness', 'src', 'cli', 'test-sanitized.js'), '--plant', 'test/integration/fixtures/planted_worker.cc', '-t', 'one rule: 10,000 packets', 'test/integration/relay.test.ts'], { cwd: projectRoot, reject: false, all: true });
    expect(run.exitCode).toBe(1);
    expect(run.all).toMatch(/planted_worker\.cc:38:\d+: runtime error: load of address .* with insufficient space|heap-buffer-overflow/);
    expect(run.all).toMatch(/in mcr::EgressBatch::flush/);
    expect(run.all).toMatch(/test:sanitized: \d+ sanitizer report\(s\), above/);
    // Written by the workers themselves: they run as nobody.
    const reports = path.join(projectRoot, 'build', 'Sanitized', 'planted', 'reports');
    const files = readdirSync(reports);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(path.join(reports, f)).uid, f).toBe(NOBODY);
  }, 600_000);
});
