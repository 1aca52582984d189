// Debian's Chromium for the browser tests: where it is, and the flags that keep it headless and
// off the network (this machine's closed network refuses its background connections).
import { execFileSync } from 'node:child_process';

export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`]).toString().trim();
    } catch {
      // try the next name
    }
  }
  return undefined;
}

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars'];
