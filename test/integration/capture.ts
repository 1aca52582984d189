// tcpdump in a namespace, for tests that check what went over the wire.
import { setTimeout as sleep } from 'node:timers/promises';
import { nsSpawn } from '../../netns/spawn.js';

/** Starts tcpdump (-n -l plus args) on ifname; stop() ends it and returns the lines it printed. */
export async function capture(ns: string, ifname: string, args: string[]): Promise<{ stop(): Promise<string[]> }> {
  const child = nsSpawn(ns, 'tcpdump', ['-i', ifname, '-n', '-l', ...args], { reject: false, buffer: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tcpdump did not start within 10 s')), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('listening on')) return;
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    async stop() {
      await sleep(300);
      child.kill('SIGINT');
      const r = await child;
      return String(r.stdout).split('\n').filter((l) => l.length > 0);
    },
  };
}
