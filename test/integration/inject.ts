// Raw frames onto a link from inside a namespace (fixtures/send-frames.py), built with
// harness/src/frames.ts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'send-frames.py');

/** Sends every frame of `frames`, in order, `count` times over, on ifname in ns. */
export async function injectFrames(ns: string, ifname: string, frames: Buffer[], count: number): Promise<void> {
  await execa('ip', ['netns', 'exec', ns, 'python3', SCRIPT, ifname, String(count)], { input: frames.map((f) => f.toString('hex')).join('\n') });
}
