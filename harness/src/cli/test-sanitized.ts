// npm run test:sanitized: the relay's tests on an AddressSanitizer + UndefinedBehaviorSanitizer
// build of the addon and of the test addon. Every process of the run (vitest, mcrd, its workers)
// loads those builds (MCR_ADDON, MCR_TEST_ADDON) with clang's runtime preloaded; any sanitizer
// report from any of them, even one a test survived (a worker that died and was restarted), fails the run.
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { execa } from 'execa';
import { asanRuntime, buildSanitizedAddon, requireClang } from '../sanitizers.js';
import { projectRoot } from '../../../relay/src/api.js';

/**
 * The tests that drive the addon: in-process (unit, forwarder) and through mcrd's workers
 * (forwarding: every traffic class; lifecycle: link events, re-created interfaces; elastic: the
 * steering program, hold, release and barrier, workers that come and go). relay.test.ts adds no
 * native path these miss and would cost CI a minute more; name it to run it too.
 */
const RELAY_TESTS = [
  'test/unit/parse.test.ts',
  'test/unit/reassembly.test.ts',
  'test/unit/addon-args.test.ts',
  'test/unit/rules.test.ts',
  'test/unit/links.test.ts',
  'test/unit/bench.test.ts',
  'test/integration/forwarder.test.ts',
  'test/integration/forwarding.test.ts',
  'test/integration/lifecycle.test.ts',
  'test/integration/elastic.test.ts',
];

const program = new Command('test:sanitized')
  .description(`Build the addon and the test addon with ASan and UBSan (build/Sanitized/mcr.node and mcr-test.node, clang) and run the relay's tests on it: ${RELAY_TESTS.join(', ')} (or the files given). Fails on a failed test or on any sanitizer report.`)
  .argument('[files...]', 'test files instead of the default set')
  .option('-t, --test-name-pattern <pattern>', "only the tests whose name matches (vitest's -t)")
  .option('--plant <source>', "negative control: link this source, which wraps the workers' sendmmsg (-Wl,--wrap=sendmmsg) with a planted bug, into the relay's addon; the run must fail on its report (test/integration/fixtures/planted_worker.cc)")
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .action(async (files: string[], o: { testNamePattern?: string; plant?: string }) => {
    await requireClang();
    process.stderr.write(`test:sanitized: building ${o.plant ? `the addon with ${o.plant} planted` : 'the addon and the test addon'} with ASan and UBSan…\n`);
    // A planted run drives the relay only: the test addon is not built for it.
    const [addon, testAddon] = await Promise.all([buildSanitizedAddon('mcr', o.plant), o.plant ? undefined : buildSanitizedAddon('mcr-test')]);
    // Beside the build: a planted run's reports never mix with a real run's.
    const reports = path.join(path.dirname(addon), 'reports');
    rmSync(reports, { recursive: true, force: true });
    mkdirSync(reports, { recursive: true });
    // mcrd's workers run as nobody: they must be able to write their reports here too (sticky, like /tmp).
    chmodSync(reports, 0o1777);
    const env = {
      MCR_ADDON: addon,
      ...(testAddon ? { MCR_TEST_ADDON: testAddon } : {}),
      LD_PRELOAD: await asanRuntime(),
      // Leaks are node's own (it is not built with ASan); the reports go to files, per process.
      ASAN_OPTIONS: `detect_leaks=0:log_path=${path.join(reports, 'asan')}`,
      UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:log_path=${path.join(reports, 'ubsan')}`,
    };
    const pattern = o.testNamePattern ? ['-t', o.testNamePattern] : [];
    const tests = await execa('npx', ['vitest', 'run', ...(files.length ? files : RELAY_TESTS), ...pattern], { cwd: projectRoot, env, stdio: 'inherit', reject: false });
    const found = readdirSync(reports);
    for (const file of found) console.error(`\n=== ${file}\n${readFileSync(path.join(reports, file), 'utf8')}`);
    if (found.length) console.error(`test:sanitized: ${found.length} sanitizer report(s), above (kept in ${path.relative(process.cwd(), reports)})`);
    else console.error(`test:sanitized: no sanitizer report from any process`);
    process.exitCode = tests.exitCode !== 0 || found.length ? 1 : 0;
  });

program.parseAsync().catch((err: Error) => {
  console.error(`test:sanitized: ${err.message}`);
  process.exit(2);
});
