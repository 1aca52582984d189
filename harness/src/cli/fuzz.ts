// npm run fuzz: the relay's libFuzzer targets (frame parser, rule table) built with clang's
// AddressSanitizer and UndefinedBehaviorSanitizer, each run for a while on a corpus kept in
// build/fuzz/corpus/<target>. Exit 1 with the sanitizer's report and the reproducer on a finding.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseSeeds, runFuzzer, seedCorpus } from '../fuzz.js';
import { FUZZ_TARGETS, buildFuzzTarget, fuzzDir, requireClang } from '../sanitizers.js';
import { positiveInt } from './args.js';

const names = FUZZ_TARGETS.map((t) => t.name);

const program = new Command('fuzz')
  .description(`Fuzz the relay's native code with libFuzzer under ASan and UBSan (targets: ${names.join(', ')}; sources in relay/native/fuzz). Needs clang (sudo npm run setup).`)
  // Usage errors exit 2, like the scenarios' (a finding is 1).
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .option('--seconds <n>', 'how long to fuzz each target', positiveInt('--seconds'), 60)
  .option('--target <list>', `targets to run, comma-separated (${names.join(', ')})`, (v) => {
    const list = v.split(',');
    const bad = list.find((n) => !names.includes(n));
    if (bad) throw new InvalidArgumentError(`unknown target '${bad}' (${names.join(', ')})`);
    return list;
  }, names)
  .action(async (o: { seconds: number; target: string[] }) => {
    await requireClang();
    let failed = false;
    for (const target of FUZZ_TARGETS.filter((t) => o.target.includes(t.name))) {
      process.stderr.write(`fuzz ${target.name}: building… `);
      const binary = await buildFuzzTarget(target);
      const corpus = path.join(fuzzDir, 'corpus', target.name);
      if (target.name === 'parse') seedCorpus(corpus, parseSeeds());
      process.stderr.write(`running for ${o.seconds} s\n`);
      const run = await runFuzzer(binary, o.seconds, corpus, path.join(fuzzDir, 'artifacts', target.name));
      if (run.ok) {
        console.log(`fuzz ${target.name}: ok, ${run.executions.toLocaleString('en-US')} inputs in ${o.seconds} s, corpus ${run.corpusSize}`);
        continue;
      }
      failed = true;
      console.log(`${run.report}\n\nfuzz ${target.name}: FAILED after ${run.executions.toLocaleString('en-US')} inputs: ${run.summary ?? 'see above'}`);
      if (run.artifact) console.log(`reproduce: ${path.relative(process.cwd(), binary)} ${path.relative(process.cwd(), run.artifact)}`);
    }
    process.exitCode = failed ? 1 : 0;
  });

program.parseAsync().catch((err: Error) => {
  console.error(`fuzz: ${err.message}`);
  process.exit(2);
});
