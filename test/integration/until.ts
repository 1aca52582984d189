// Waiting on a condition in a test: polled, bounded, and a timeout names what was awaited.
import { setTimeout as sleep } from 'node:timers/promises';

export async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
