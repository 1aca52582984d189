// Starts mcrd inside a namespace and connects to its control socket once it answers.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlClient, projectRoot } from '../../relay/src/api.js';
import { nsSpawn } from '../../netns/spawn.js';
import { commandLine, pinned } from './placement.js';

export const MCRD = path.join(projectRoot, 'bin', 'mcrd.js');

export interface RunningMcrd {
  pid: number;
  client: ControlClient;
  socketPath: string;
  /** The command line, as a user would type it. */
  command: string;
  /** SIGTERM, wait for exit (SIGKILL after 10 s); resolves with the exit code. */
  stop(): Promise<number | undefined>;
  /** Set once mcrd exited: how. */
  exitNote(): string | undefined;
}

export interface McrdLaunch {
  /** Added to the harness's environment (an impairment's preload); workers inherit it. */
  env?: Record<string, string>;
  /** CPUs mcrd runs on (--cpus contender=...); workers inherit them. */
  cpus?: string;
}

export async function startMcrd(ns: string, socketPath: string, args: string[], logFile: string, { env = {}, cpus }: McrdLaunch = {}): Promise<RunningMcrd> {
  const fullArgs = [MCRD, '--control-socket', socketPath, ...args];
  const log = createWriteStream(logFile);
  const child = nsSpawn(ns, ...pinned(cpus, process.execPath, fullArgs), { stdout: 'pipe', stderr: 'pipe', reject: false, env });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let note: string | undefined;
  const exited = child.then((r) => {
    note = `exit code ${r.exitCode ?? '-'}${r.signal ? `, signal ${r.signal}` : ''} (log: ${logFile})`;
    return r;
  });
  const stop = async () => {
    child.kill('SIGTERM');
    const result = await Promise.race([exited, sleep(10_000).then(() => undefined)]);
    if (!result) {
      child.kill('SIGKILL');
      return (await exited).exitCode;
    }
    log.end();
    return result.exitCode;
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (note) throw new Error(`mcrd exited before its control socket answered: ${note}`);
    try {
      const client = await ControlClient.connect(socketPath, 1000);
      await client.request('ping');
      return { pid: child.pid ?? 0, client, socketPath, command: commandLine(ns, cpus, 'node', ['bin/mcrd.js', ...fullArgs.slice(1)]), stop, exitNote: () => note };
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`mcrd control socket ${socketPath} did not answer within 15 s: ${(err as Error).message}`);
      }
      await sleep(50);
    }
  }
}
