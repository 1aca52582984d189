// Topologies: many created and destroyed leave nothing behind; a dead run's leftovers are swept,
// a live run's never; SIGTERM tears a run's topologies down.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_DIR } from '../../netns/state.js';
import { createChain, createPair, newPrefix } from '../../netns/topology.js';
import { projectRoot } from '../../relay/src/api.js';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces need root)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return "'ip' not found (apt-get install iproute2)";
  }
  return undefined;
}
const reason = skipReason();
if (reason) console.warn(`SKIPPED netns integration: ${reason}`);

const namespaces = () => execFileSync('ip', ['netns', 'list']).toString();
const hostLinks = () => execFileSync('ip', ['-o', 'link']).toString();
const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

function assertNothingLeft(prefixes: string[]): void {
  const ns = namespaces();
  const links = hostLinks();
  for (const p of prefixes) {
    expect(ns).not.toContain(p);
    expect(links).not.toContain(p);
    expect(existsSync(path.join(STATE_DIR, `${p}.json`))).toBe(false);
  }
}

describe.skipIf(reason)('namespace topologies', () => {
  // Child processes import the netns modules as plain JavaScript, transpiled from the sources now
  // (dist/ may be stale). node_modules is linked so 'zx' and 'execa' resolve.
  let moduleDir = '';
  beforeAll(() => {
    moduleDir = mkdtempSync(path.join(os.tmpdir(), 'mcr-netns-test-'));
    mkdirSync(path.join(moduleDir, 'netns'));
    symlinkSync(path.join(projectRoot, 'node_modules'), path.join(moduleDir, 'node_modules'));
    for (const name of ['sysctl', 'spawn', 'state', 'topology', 'snooping', 'probe']) {
      const source = readFileSync(path.join(projectRoot, 'netns', `${name}.ts`), 'utf8');
      const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      writeFileSync(path.join(moduleDir, 'netns', `${name}.js`), out.outputText);
    }
    writeFileSync(path.join(moduleDir, 'package.json'), '{"type":"module"}\n');
  });
  afterAll(() => {
    if (moduleDir) rmSync(moduleDir, { recursive: true, force: true });
  });

  /** A child process that builds a chain with the given prefix and stays alive. */
  async function owner(prefix: string): Promise<ChildProcess> {
    const script = `import { createChain } from '${path.join(moduleDir, 'netns', 'topology.js')}';
      await createChain({ prefix: '${prefix}' }); console.log('up'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`owner child exited early (${code})`)));
    });
    return child;
  }

  it('20 chains (half bridged) created and destroyed leave no namespace, link, record or process', async () => {
    const prefixes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const chain = await createChain({ bridge: i % 2 === 1, mtu: i % 4 === 3 ? 9000 : undefined });
      prefixes.push(chain.prefix);
      expect(chain.prefix).toMatch(/^mcr[0-9a-f]{4}$/);
      expect(namespaces()).toContain(`${chain.prefix}-relay`);
      expect(existsSync(path.join(STATE_DIR, `${chain.prefix}.json`))).toBe(true);
      for (const host of [chain.gen, chain.relayIn, chain.relayOut, chain.sink]) {
        expect(host.ifname.length).toBeLessThanOrEqual(15);
        expect(host.ifname.startsWith(chain.prefix)).toBe(true);
        const link = execFileSync('ip', ['-n', host.ns, '-o', 'addr', 'show', 'dev', host.ifname]).toString();
        expect(link).toContain(`inet ${host.addr}/24`);
      }
      if (i % 2 === 1) expect(execFileSync('ip', ['-n', chain.relayIn.ns, '-d', 'link', 'show', chain.relayIn.ifname]).toString()).toContain('bridge');
      // A process inside a namespace must not survive teardown.
      const sleeper = spawn('ip', ['netns', 'exec', chain.gen.ns, 'sleep', '60'], { stdio: 'ignore' });
      await sleep(20);
      expect(execFileSync('ip', ['netns', 'pids', chain.gen.ns]).toString()).toContain(String(sleeper.pid));
      await chain.destroy();
      await chain.destroy(); // idempotent
      await exited(sleeper);
      expect(sleeper.signalCode).toBe('SIGKILL');
    }
    assertNothingLeft(prefixes);
  });

  it('a pair has two namespaces and is torn down the same way', async () => {
    const pair = await createPair();
    expect(namespaces()).toContain(`${pair.prefix}-gen`);
    expect(namespaces()).toContain(`${pair.prefix}-sink`);
    await pair.destroy();
    assertNothingLeft([pair.prefix]);
  });

  it('refuses a prefix that is in use', async () => {
    const chain = await createChain();
    try {
      await expect(createChain({ prefix: chain.prefix })).rejects.toThrow(/in use/);
      expect(namespaces()).toContain(`${chain.prefix}-gen`);
    } finally {
      await chain.destroy();
    }
  });

  it("sweeps the namespaces of a run that was killed, and never a live run's", async () => {
    const dead = newPrefix();
    const child = await owner(dead);
    expect(namespaces()).toContain(`${dead}-gen`);

    const live = await createChain(); // sweeps, but the child is alive: its namespaces stay
    expect(namespaces()).toContain(`${dead}-gen`);
    await live.destroy();

    child.kill('SIGKILL');
    await exited(child);
    expect(namespaces()).toContain(`${dead}-gen`); // left behind by the killed run
    const next = await createChain();
    await next.destroy();
    assertNothingLeft([dead, live.prefix, next.prefix]);
    expect(readdirSync(STATE_DIR).filter((f) => f.startsWith(dead))).toEqual([]);
  });

  it('SIGTERM destroys the live topologies of a run, which exits 143', async () => {
    const prefix = newPrefix();
    const child = await owner(prefix);
    expect(namespaces()).toContain(`${prefix}-relay`);
    child.kill('SIGTERM');
    await exited(child);
    expect(child.exitCode).toBe(143);
    assertNothingLeft([prefix]);
  });
});
