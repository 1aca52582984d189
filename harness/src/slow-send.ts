// The --relay-slow-send impairment: harness/impairments/slow-send.c, built on first use into
// build/ and preloaded into mcrd (its workers inherit it) to make each datagram the relay sends
// cost more CPU, so the CPU-per-packet gate must fail.
import { execa } from 'execa';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../relay/src/api.js';

const SOURCE = path.join(projectRoot, 'harness', 'impairments', 'slow-send.c');
const LIBRARY = path.join(projectRoot, 'build', 'slow-send.so');

/** The environment mcrd runs with to spend `us` µs of CPU more per datagram sent. */
export async function slowSendEnvironment(us: number): Promise<Record<string, string>> {
  if (!existsSync(LIBRARY) || statSync(LIBRARY).mtimeMs < statSync(SOURCE).mtimeMs) {
    const built = await execa('cc', ['-O2', '-shared', '-fPIC', '-o', LIBRARY, SOURCE, '-ldl'], { reject: false });
    if (built.exitCode !== 0) throw new Error(`--relay-slow-send: building ${path.relative(projectRoot, SOURCE)} failed: ${built.stderr}`);
  }
  return { LD_PRELOAD: LIBRARY, MCR_SLOW_SEND_US: String(us) };
}
