// Native code built with clang's sanitizers: the libFuzzer targets (relay/native/fuzz) and an
// AddressSanitizer + UndefinedBehaviorSanitizer build of the addon that the relay's integration
// tests run under. The addon's sources and defines are read from binding.gyp: one list, not two.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { $ } from 'zx';
import { projectRoot } from '../../relay/src/api.js';

export const CLANG = 'clang++';
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer', '-g', '-O1'];

export const sanitizedDir = path.join(projectRoot, 'build', 'Sanitized');
export const fuzzDir = path.join(projectRoot, 'build', 'fuzz');

/** A fuzz target: relay/native/fuzz/<name>_fuzz.cc and the relay sources it tests. */
export interface FuzzTarget {
  name: string;
  sources: string[];
}

export const FUZZ_TARGETS: FuzzTarget[] = [
  { name: 'parse', sources: ['relay/native/parse.cc'] },
  { name: 'rules', sources: ['relay/native/rules.cc', 'relay/native/egress.cc', 'relay/native/headers.cc', 'relay/native/link_facts.cc', 'relay/native/parse.cc'] },
  { name: 'reassembly', sources: ['relay/native/reassembly.cc', 'relay/native/parse.cc'] },
];

/** Throws naming the Debian packages when clang or its sanitizer runtime is missing. */
export async function requireClang(): Promise<void> {
  const found = await $`${CLANG} --version`.quiet().nothrow();
  if (found.exitCode !== 0) throw new Error(`${CLANG} not found: install it (Debian: apt-get install clang libclang-rt-14-dev, or sudo npm run setup)`);
}

/** clang's shared ASan runtime (UBSan's handlers included): preloaded into node for the sanitized addon. */
export async function asanRuntime(): Promise<string> {
  const file = (await $`${CLANG} -print-file-name=libclang_rt.asan-x86_64.so`.quiet()).stdout.trim();
  if (!path.isAbsolute(file) || !existsSync(file)) throw new Error(`clang's ASan runtime libclang_rt.asan-x86_64.so not found (Debian: apt-get install libclang-rt-14-dev)`);
  return file;
}

/** Builds build/fuzz/<name>_fuzz from its target source and the relay sources it covers. */
export async function buildFuzzTarget(target: FuzzTarget, source = path.join(projectRoot, 'relay/native/fuzz', `${target.name}_fuzz.cc`)): Promise<string> {
  mkdirSync(fuzzDir, { recursive: true });
  const binary = path.join(fuzzDir, `${target.name}_fuzz`);
  const sources = target.sources.map((s) => path.join(projectRoot, s));
  await $`${CLANG} -std=c++17 -fsanitize=fuzzer ${SANITIZE} ${source} ${sources} -o ${binary}`.quiet();
  return binary;
}

interface GypTarget {
  target_name: string;
  sources: string[];
  defines?: string[];
}

/**
 * Builds build/Sanitized/<target>.node (mcr: the relay's addon, mcr-test: the test addon): the
 * target's sources and defines from binding.gyp, with ASan and UBSan. `planted`: a source with a
 * planted bug that wraps the workers' sendmmsg (-Wl,--wrap), built instead into
 * build/Sanitized/planted/, to show that a report from a worker fails the run.
 */
export async function buildSanitizedAddon(target: 'mcr' | 'mcr-test' = 'mcr', planted?: string): Promise<string> {
  const gyp = JSON.parse(readFileSync(path.join(projectRoot, 'binding.gyp'), 'utf8')) as { targets: GypTarget[] };
  const addon = gyp.targets.find((t) => t.target_name === target);
  if (!addon) throw new Error(`binding.gyp has no target "${target}"`);
  // Node's headers where node-gyp found them (npm's nodedir: the prefix node runs from).
  const nodeHeaders = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
  if (!existsSync(path.join(nodeHeaders, 'node_api.h'))) throw new Error(`node's headers are not in ${nodeHeaders} (node_api.h missing)`);
  const napiHeaders = (createRequire(import.meta.url)('node-addon-api') as { include_dir: string }).include_dir;
  const dir = planted ? path.join(sanitizedDir, 'planted') : sanitizedDir;
  mkdirSync(dir, { recursive: true });
  const output = path.join(dir, `${target}.node`);
  const sources = [...addon.sources.map((s) => path.join(projectRoot, s)), ...(planted ? [path.resolve(planted)] : [])];
  const defines = (addon.defines ?? []).map((d) => `-D${d}`);
  const wrap = planted ? ['-Wl,--wrap=sendmmsg'] : [];
  await $`${CLANG} -std=c++17 -shared -fPIC -shared-libasan ${SANITIZE} -I${nodeHeaders} -I${path.resolve(projectRoot, napiHeaders)} ${defines} ${sources} ${wrap} -o ${output} -lpthread`.quiet();
  return output;
}
