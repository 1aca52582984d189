// Worker processes: N per ingress interface, all in one PACKET_FANOUT group per interface.
// The first worker of an interface asks the kernel for a unique group id; the others join it.
// A worker that dies is restarted with backoff and gets the interface's current rules back.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EgressMode, FanoutMode, ForwarderStats, IngressMode, NativeRule } from './native.js';
import type { Logger } from './log.js';
import { setprivArgs, type RunAs } from './privileges.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-messages.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
const REPLY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 3000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** A worker that stayed up this long starts its next backoff from the minimum again. */
const STABLE_AFTER_MS = 10_000;

export interface WorkerPoolOptions {
  workersPerInterface: number;
  fanout: FanoutMode;
  ingress: IngressMode;
  egress: EgressMode;
  ringMiB: number;
  log: Logger;
  /** Run workers as this user with only CAP_NET_RAW, through setpriv at this path; undefined: as mcrd's own user. */
  runAs?: { who: RunAs; setpriv: string };
  /** The interface's current rules, as the native table wants them. */
  rulesFor(iface: string): NativeRule[];
}

export interface WorkerInfo {
  interface: string;
  index: number;
  pid: number | null;
  state: 'starting' | 'running' | 'restarting' | 'stopped';
  restarts: number;
  fanoutId: number;
  startedAt: string | null;
}

export interface WorkerStats extends WorkerInfo {
  stats?: ForwarderStats;
  error?: string;
}

interface Pending {
  resolve(message: FromWorker): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class WorkerHandle {
  child: ChildProcess | null = null;
  state: WorkerInfo['state'] = 'starting';
  restarts = 0;
  startedAt: Date | null = null;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(readonly iface: string, readonly index: number) {}

  /** Sends a request and resolves with the reply carrying the same seq. */
  request(make: (seq: number) => ToWorker): Promise<FromWorker> {
    const child = this.child;
    if (!child || !child.connected) return Promise.reject(new Error(`worker ${this.iface}#${this.index} is not running`));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`worker ${this.iface}#${this.index} (pid ${child.pid}) did not answer within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(seq, { resolve, reject, timer });
      child.send(make(seq));
    });
  }

  settle(message: FromWorker): void {
    if (message.type !== 'ack' && message.type !== 'stats') return;
    const pending = this.pending.get(message.seq);
    if (!pending) return;
    this.pending.delete(message.seq);
    clearTimeout(pending.timer);
    pending.resolve(message);
  }

  failAll(reason: string): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error(reason));
    }
    this.pending.clear();
  }
}

interface InterfaceGroup {
  fanoutId: number;
  workers: WorkerHandle[];
  /** Resolves once every worker of the interface started at least once. */
  ready: Promise<void>;
}

/** The worker script, for checks that its user can read it. */
export const workerScript = WORKER_SCRIPT;

export class WorkerPool {
  private readonly interfaces = new Map<string, InterfaceGroup>();
  private stopping = false;
  /** Bumped by every rule change, so a starting worker can tell its table went stale. */
  private rulesVersion = 0;

  constructor(private readonly options: WorkerPoolOptions) {}

  hasInterface(iface: string): boolean {
    return this.interfaces.has(iface);
  }

  /** Starts the interface's workers if it has none yet; resolves when they all run. */
  ensureInterface(iface: string): Promise<void> {
    let group = this.interfaces.get(iface);
    if (!group) {
      const created: InterfaceGroup = { fanoutId: -1, workers: [], ready: Promise.resolve() };
      for (let i = 0; i < this.options.workersPerInterface; i++) created.workers.push(new WorkerHandle(iface, i));
      created.ready = this.startGroup(iface, created).catch((err) => {
        if (this.interfaces.get(iface) === created) this.interfaces.delete(iface);
        for (const w of created.workers) this.kill(w);
        throw err;
      });
      this.interfaces.set(iface, created);
      group = created;
    }
    return group.ready;
  }

  private async startGroup(iface: string, group: InterfaceGroup): Promise<void> {
    const [first, ...rest] = group.workers;
    group.fanoutId = await this.spawn(first, -1);
    if (this.options.fanout === 'none') {
      this.options.log.warn(`fanout 'none' on ${iface}: every worker sees every packet (duplication negative control)`);
    } else {
      this.options.log.info(`PACKET_FANOUT group ID: ${group.fanoutId}`, { interface: iface, mode: this.options.fanout });
    }
    await Promise.all(rest.map((w) => this.spawn(w, group.fanoutId)));
  }

  /** Forks the worker, waits for 'ready', loads its rules. Resolves with the fanout id it uses. */
  private spawn(worker: WorkerHandle, fanoutId: number): Promise<number> {
    const config: WorkerConfig = {
      interface: worker.iface,
      index: worker.index,
      fanout: this.options.fanout,
      fanoutId,
      ingress: this.options.ingress,
      egress: this.options.egress,
      ringMiB: this.options.ringMiB,
    };
    const runAs = this.options.runAs;
    // fork() runs execPath [...execArgv, script, ...args]: with setpriv in front, node starts already unprivileged.
    const launcher = runAs ? { execPath: runAs.setpriv, execArgv: [...setprivArgs(runAs.who), process.execPath] } : { execArgv: [] };
    const child = fork(WORKER_SCRIPT, [JSON.stringify(config)], { ...launcher, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    worker.child = child;
    worker.state = 'starting';
    const name = `worker ${worker.iface}#${worker.index}`;

    return new Promise<number>((resolve, reject) => {
      let started = false;
      child.on('message', (message: FromWorker) => {
        if (message.type === 'fatal') {
          this.options.log.error(`${name} failed to start: ${message.error}`);
          if (!started) reject(new Error(`${name}: ${message.error}`));
        } else if (message.type === 'ready') {
          // Rules first, then the fanout group: a worker joining the group takes flows over at
          // once, and without its table it would drop their packets.
          this.loadAndJoin(worker)
            .then((ack) => {
              started = true;
              worker.state = 'running';
              worker.startedAt = new Date();
              this.options.log.info(`${name} running`, { pid: child.pid, fanoutId: ack.fanoutId });
              resolve(ack.fanoutId ?? -1);
            })
            .catch((err: Error) => {
              if (!started) reject(new Error(`${name}: ${err.message}`));
            });
        } else {
          worker.settle(message);
        }
      });
      child.on('exit', (code, signal) => {
        worker.failAll(`${name} exited`);
        worker.child = null;
        if (!started) {
          reject(new Error(`${name} exited during start (code ${code}, signal ${signal})`));
          return;
        }
        if (this.stopping || worker.state === 'stopped') return;
        this.options.log.error(`${name} (pid ${child.pid}) died (code ${code}, signal ${signal}); restarting`);
        this.scheduleRestart(worker);
      });
    });
  }

  /** Loads the table, joins the fanout group, and reloads if a change came meanwhile. */
  private async loadAndJoin(worker: WorkerHandle): Promise<{ fanoutId?: number }> {
    await this.loadTable(worker);
    const version = this.rulesVersion;
    const ack = await worker.request((seq) => ({ type: 'join', seq }));
    if (ack.type !== 'ack' || ack.error) throw new Error(`joining the fanout group: ${ack.type === 'ack' ? ack.error : 'no answer'}`);
    // Changes skip workers that are not running yet: catch up before being marked running.
    if (this.rulesVersion !== version) await this.loadTable(worker);
    return ack;
  }

  /** Loads the whole table into a starting worker, again if a change raced with the load. */
  private async loadTable(worker: WorkerHandle): Promise<void> {
    for (;;) {
      const version = this.rulesVersion;
      const ack = await worker.request((seq) => ({ type: 'rules', seq, rules: this.options.rulesFor(worker.iface) }));
      if (ack.type === 'ack' && ack.error) throw new Error(ack.error);
      if (version === this.rulesVersion) return;
    }
  }

  private scheduleRestart(worker: WorkerHandle): void {
    const ranFor = worker.startedAt ? Date.now() - worker.startedAt.getTime() : 0;
    const attempt = ranFor > STABLE_AFTER_MS ? 0 : worker.restarts;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    worker.state = 'restarting';
    worker.restarts++;
    setTimeout(() => {
      const group = this.interfaces.get(worker.iface);
      if (this.stopping || !group) return;
      this.spawn(worker, group.fanoutId).catch((err: Error) => {
        this.options.log.error(`restart of worker ${worker.iface}#${worker.index} failed: ${err.message}`);
        if (!this.stopping) this.scheduleRestart(worker);
      });
    }, delay).unref();
  }

  /**
   * Sends a change of the interface's rules to every running worker; resolves when all applied it.
   * Workers that start later load the whole table from rulesFor().
   */
  async applyChange(iface: string, change: { upsert?: NativeRule[]; remove?: string[] }): Promise<void> {
    this.rulesVersion++;
    const group = this.interfaces.get(iface);
    if (!group) return;
    const running = group.workers.filter((w) => w.state === 'running');
    const acks = await Promise.all(running.map((w) => w.request((seq) => ({ type: 'update', seq, upsert: change.upsert ?? [], remove: change.remove ?? [] }))));
    const errors = acks.flatMap((a) => (a.type === 'ack' && a.error ? [a.error] : []));
    if (errors.length) throw new Error(errors[0]);
  }

  /** Stops the interface's workers (it vanished); ensureInterface starts new ones later. */
  async stopInterface(iface: string): Promise<void> {
    const group = this.interfaces.get(iface);
    if (!group) return;
    this.interfaces.delete(iface);
    await Promise.all(group.workers.map((w) => this.kill(w)));
  }

  /** Loads the whole table into every running worker of the interface again (an output interface was re-created). */
  async reloadInterface(iface: string): Promise<void> {
    this.rulesVersion++;
    const group = this.interfaces.get(iface);
    if (!group) return;
    await Promise.all(group.workers.filter((w) => w.state === 'running').map((w) => this.loadTable(w)));
  }

  describe(): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const [iface, group] of this.interfaces) {
      for (const w of group.workers) {
        out.push({
          interface: iface,
          index: w.index,
          pid: w.child?.pid ?? null,
          state: w.state,
          restarts: w.restarts,
          fanoutId: group.fanoutId,
          startedAt: w.startedAt?.toISOString() ?? null,
        });
      }
    }
    return out;
  }

  async stats(): Promise<WorkerStats[]> {
    const infos = this.describe();
    const handles = [...this.interfaces.values()].flatMap((g) => g.workers);
    return Promise.all(
      handles.map(async (w, i) => {
        const info = infos[i];
        if (w.state !== 'running') return info;
        try {
          const reply = await w.request((seq) => ({ type: 'stats', seq }));
          return reply.type === 'stats' ? { ...info, stats: reply.stats } : info;
        } catch (err) {
          return { ...info, error: (err as Error).message };
        }
      }),
    );
  }

  private kill(worker: WorkerHandle): Promise<void> {
    worker.state = 'stopped';
    const child = worker.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.connected) child.send({ type: 'stop' } satisfies ToWorker);
      else child.kill('SIGTERM');
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.interfaces.values()].flatMap((g) => g.workers);
    await Promise.all(all.map((w) => this.kill(w)));
  }
}
