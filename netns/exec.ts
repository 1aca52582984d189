// Running commands on the host and inside network namespaces.
import { execa, type Options, type ResultPromise } from 'execa';

export async function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await execa(cmd, args, { reject: false });
  if (result.exitCode !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.exitCode ?? result.signal}): ${String(result.stderr || result.stdout).trim()}`);
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr) };
}

export function nsRun(ns: string, cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** Starts a long-running process inside ns (`ip netns exec` execs it: the pid is the process's own). */
export function nsSpawn<O extends Options = {}>(ns: string, cmd: string, args: string[], options?: O): ResultPromise<O> {
  return execa('ip', ['netns', 'exec', ns, cmd, ...args], options ?? ({} as O)) as unknown as ResultPromise<O>;
}

/** Sets a sysctl inside one of our namespaces (never on the host). */
export function sysctl(ns: string, key: string, value: string | number): Promise<unknown> {
  if (!ns) return Promise.reject(new Error(`sysctl ${key}: no namespace given (never set on the host)`));
  return nsRun(ns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
}
