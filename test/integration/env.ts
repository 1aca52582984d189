// Whether integration tests (root + network namespaces + built binaries) can run here.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MFC_FILE } from '../../harness/src/contenders/procnet.js';
import { projectRoot } from '../../relay/src/api.js';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why integration tests cannot run, or undefined when they can. Printed, never silent. */
export function skipReason(needs: string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces and AF_PACKET need root)';
  if (!has('ip')) return "'ip' not found (apt-get install iproute2)";
  for (const cmd of needs) if (!has(cmd)) return `'${cmd}' not found`;
  for (const file of ['build/Release/mcr.node', 'build/Release/mcr-gen', 'build/Release/mcr-sink', 'dist/relay/src/cli/mcrd.js']) {
    if (!existsSync(path.join(projectRoot, file))) return `${file} missing (run npm install / npm run build)`;
  }
  return undefined;
}

/**
 * Why the kernel contender cannot run on this machine's kernel (built without multicast routing:
 * no forwarding cache file), or undefined when it can. Nothing to install: tests skip its part and say so.
 */
export function noMulticastRouting(family: 4 | 6 = 4): string | undefined {
  const { path: cache } = MFC_FILE[family];
  return existsSync(cache) ? undefined : `this kernel has no IPv${family} multicast routing (${cache} missing)`;
}

export function announceSkip(suite: string, reason: string | undefined): void {
  if (reason) console.warn(`SKIPPED ${suite}: ${reason}`);
}
