// Topologies: many created and destroyed leave nothing behind; a dead run's leftovers are swept.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { STATE_DIR } from '../../netns/state.js';
import { createChain, newPrefix } from '../../netns/topology.js';
import { projectRoot } from '../../relay/src/native.js';
import { announceSkip, skipReason } from './env.js';

const reason = skipReason();
announceSkip('netns integration', reason);

const namespaces = () => execFileSync('ip', ['netns', 'list']).toString();
const hostLinks = () => execFileSync('ip', ['-o', 'link']).toString();

describe.skipIf(reason)('namespace topologies', () => {
  it('20 chains (half bridged) created and destroyed leave no namespace, link, record or process', async () => {
    const prefixes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const chain = await createChain({ bridge: i % 2 === 1 });
      prefixes.push(chain.prefix);
      expect(namespaces()).toContain(`${chain.prefix}-relay`);
      // A process inside the namespace must not survive teardown.
      spawn('ip', ['netns', 'exec', chain.gen.ns, 'sleep', '60'], { stdio: 'ignore', detached: true }).unref();
      await sleep(20);
      await chain.destroy();
      await chain.destroy(); // idempotent
    }
    const ns = namespaces();
    const links = hostLinks();
    for (const p of prefixes) {
      expect(ns).not.toContain(p);
      expect(links).not.toContain(p);
      expect(existsSync(path.join(STATE_DIR, `${p}.json`))).toBe(false);
    }
  });

  it("sweeps the namespaces of a run that was killed, and never a live run's", async () => {
    const dead = newPrefix();
    const script = `import { createChain } from '${path.join(projectRoot, 'dist', 'netns', 'topology.js')}';
      await createChain({ prefix: '${dead}' }); console.log('up'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    expect(namespaces()).toContain(`${dead}-gen`);

    const live = await createChain(); // sweeps, but the child is alive: its namespaces stay
    expect(namespaces()).toContain(`${dead}-gen`);
    await live.destroy();

    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const next = await createChain();
    await next.destroy();
    expect(namespaces()).not.toContain(dead);
    expect(readdirSync(STATE_DIR).filter((f) => f.startsWith(dead))).toEqual([]);
  });
});
