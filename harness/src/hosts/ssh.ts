// One multiplexed OpenSSH connection per host: a master the harness starts and owns (ssh -M, in
// the foreground, so ending it is ending a child of ours), and every command through it (-S).
// A refused or dropped connection is a reason, named, never a hang: BatchMode (no prompts),
// a connect timeout and keep-alives.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import type { HostEntry } from './inventory.js';

export interface RemoteResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Why ssh could not connect, from what it printed. */
export function connectFailure(stderr: string): string {
  const said = stderr.trim().split('\n').filter(Boolean).at(-1) ?? 'no message';
  if (/Permission denied/.test(stderr)) return `authentication failed (wrong key or user?): ${said}`;
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) return `its host key does not match the known one: ${said}`;
  if (/Connection refused|No route to host|timed out|Could not resolve|Network is unreachable|Connection closed/.test(stderr)) return `unreachable: ${said}`;
  return said;
}

export class SshHost {
  private constructor(
    readonly name: string,
    readonly entry: HostEntry,
    private readonly socket: string,
    private readonly master: ResultPromise,
  ) {}

  /** ssh's options for this host: identity, port, known hosts, no prompts, dead links noticed within 15 s. */
  static options(entry: HostEntry): string[] {
    return [
      '-p', String(entry.port),
      '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=5',
      '-o', 'ServerAliveInterval=5',
      '-o', 'ServerAliveCountMax=3',
      '-o', 'StrictHostKeyChecking=accept-new',
      ...(entry.knownHosts ? ['-o', `UserKnownHostsFile=${entry.knownHosts}`] : []),
      ...(entry.key ? ['-i', entry.key, '-o', 'IdentitiesOnly=yes'] : []),
    ];
  }

  /** Opens the master connection; throws the reason it could not (connectFailure). */
  static async connect(name: string, entry: HostEntry, controlDir: string): Promise<SshHost> {
    const socket = path.join(controlDir, `${name}.ssh`);
    const master = execa('ssh', [...SshHost.options(entry), '-M', '-N', '-S', socket, '-o', 'ControlPersist=no', entry.ssh], { reject: false, stdin: 'ignore' });
    master.catch(() => undefined);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (master.exitCode !== null && master.exitCode !== undefined) {
        const r = await master;
        throw new Error(`${name} (${entry.ssh}, port ${entry.port}): ${connectFailure(String(r.stderr))}`);
      }
      const check = await execa('ssh', ['-S', socket, '-O', 'check', entry.ssh], { reject: false });
      if (check.exitCode === 0) return new SshHost(name, entry, socket, master);
      if (Date.now() > deadline) {
        master.kill('SIGTERM');
        throw new Error(`${name} (${entry.ssh}, port ${entry.port}): no connection within 15 s`);
      }
      await sleep(50);
    }
  }

  /** Runs a shell command line on the host through the master connection. */
  async run(command: string): Promise<RemoteResult> {
    const r = await execa('ssh', ['-S', this.socket, '-o', 'BatchMode=yes', this.entry.ssh, command], { reject: false, stdin: 'ignore' });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** Ends the master (and with it the connection). Safe to call twice. */
  async close(): Promise<void> {
    this.master.kill('SIGTERM');
    await this.master.catch(() => undefined);
  }
}
