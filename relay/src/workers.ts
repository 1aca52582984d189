// Worker processes: N per ingress interface, all in one PACKET_FANOUT group per interface.
// The first worker of an interface asks the kernel for a unique group id; the others join it.
// A worker that dies is restarted with backoff and gets the interface's current rules back.
// The count changes at runtime (setWorkers): workers join and leave the group one at a time,
// through scaling.ts, so that in 'hash' mode nothing is lost or reordered.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { EgressMode, FanoutMode, ForwarderStats, IngressMode, NativeRule, WorkerLoad } from './native.js';
import type { Logger } from './log.js';
import { setprivArgs, type RunAs } from './privileges.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-messages.js';
import { MessageChannel } from './message-channel.js';
import { admit, bucketsByMember, retire, type FanoutMembers, type Member, type ScalingEvent } from './scaling.js';
import { MAX_MEMBERS, withMemberGone, type Owners } from './steering.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
const REPLY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 3000;
/** How often running workers are asked for their load: one that does not answer (REPLY_TIMEOUT_MS) hangs. */
const LIVENESS_MS = 5000;
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
  /** 'hash' mode: steering buckets (of 256) whose flows this worker takes. */
  buckets?: number;
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

class WorkerHandle implements Member {
  child: ChildProcess | null = null;
  /** Messages to and from the worker: size-bounded lines on its fd 3 (message-channel.ts); null once closed. */
  channel: MessageChannel<ToWorker, FromWorker> | null = null;
  state: WorkerInfo['state'] = 'starting';
  restarts = 0;
  startedAt: Date | null = null;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  /** hung: called when the worker leaves a request unanswered past REPLY_TIMEOUT_MS. */
  constructor(readonly iface: string, readonly index: number, private readonly hung: (worker: WorkerHandle) => void) {}

  get name(): string {
    return `worker ${this.iface}#${this.index}`;
  }

  async ask(type: 'hold' | 'release' | 'barrier'): Promise<void> {
    const ack = await this.request((seq) => ({ type, seq }));
    if (ack.type === 'ack' && ack.error) throw new Error(`${this.name}: ${type}: ${ack.error}`);
  }

  async steer(owners: Owners): Promise<void> {
    const ack = await this.request((seq) => ({ type: 'steer', seq, owners: [...owners] }));
    if (ack.type === 'ack' && ack.error) throw new Error(`${this.name}: steering: ${ack.error}`);
  }

  /** Sends a request and resolves with the reply carrying the same seq. */
  request(make: (seq: number) => ToWorker): Promise<FromWorker> {
    const child = this.child;
    const channel = this.channel;
    if (!child || !channel) return Promise.reject(new Error(`worker ${this.iface}#${this.index} is not running`));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`worker ${this.iface}#${this.index} (pid ${child.pid}) did not answer within ${REPLY_TIMEOUT_MS} ms`));
        if (this.child === child) this.hung(this);
      }, REPLY_TIMEOUT_MS);
      this.pending.set(seq, { resolve, reject, timer });
      try {
        channel.send(make(seq));
      } catch (err) {
        this.pending.delete(seq);
        clearTimeout(timer);
        reject(new Error(`${this.name}: ${(err as Error).message}`));
      }
    });
  }

  settle(message: FromWorker): void {
    if (message.type !== 'ack' && message.type !== 'stats' && message.type !== 'load') return;
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

interface InterfaceGroup extends FanoutMembers<WorkerHandle> {
  fanoutId: number;
  /** Every worker of the interface: members, and those restarting. */
  workers: WorkerHandle[];
  /** Resolves once every worker of the interface started at least once. */
  ready: Promise<void>;
  /** Joins and leaves of the group, one at a time (the supervisor mirrors the kernel's order). */
  lane: Promise<unknown>;
  nextIndex: number;
}

/** Runs job after every job queued on the group before it. */
function inLane<T>(group: InterfaceGroup, job: () => Promise<T>): Promise<T> {
  const run = group.lane.then(job, job);
  group.lane = run.catch(() => undefined);
  return run;
}

/** The worker script, for checks that its user can read it. */
export const workerScript = WORKER_SCRIPT;

export class WorkerPool {
  private readonly interfaces = new Map<string, InterfaceGroup>();
  private stopping = false;
  /** Worker counts set at runtime (setWorkers), per interface; others have workersPerInterface. */
  private readonly targets = new Map<string, number>();
  /** Workers added and stopped by setWorkers, per interface, since mcrd started. */
  private readonly scaled = new Map<string, { added: number; stopped: number }>();
  /** Bumped by every rule change, so a starting worker can tell its table went stale. */
  private rulesVersion = 0;

  private readonly liveness: NodeJS.Timeout;

  constructor(private readonly options: WorkerPoolOptions) {
    // A worker that stops answering (stopped, deadlocked) is found even when nobody asks it anything.
    this.liveness = setInterval(() => {
      for (const group of this.interfaces.values()) for (const w of group.workers) if (w.state === 'running') w.request((seq) => ({ type: 'load', seq })).catch(() => undefined);
    }, LIVENESS_MS);
    this.liveness.unref();
  }

  /** A running worker left a request unanswered: kill it; its exit restarts it like any death. */
  private hung(worker: WorkerHandle): void {
    const child = worker.child;
    if (this.stopping || worker.state !== 'running' || !child || child.exitCode !== null || child.signalCode !== null) return;
    this.options.log.error(`${worker.name} (pid ${child.pid}) does not answer: killing it (SIGKILL); it is restarted`);
    child.kill('SIGKILL'); // EPERM arrives as the child's 'error' event, logged there
  }

  hasInterface(iface: string): boolean {
    return this.interfaces.has(iface);
  }

  /** Starts the interface's workers if it has none yet; resolves when they all run. */
  ensureInterface(iface: string): Promise<void> {
    let group = this.interfaces.get(iface);
    if (!group) {
      const created: InterfaceGroup = { fanoutId: -1, workers: [], members: [], owners: [], steered: this.options.fanout === 'hash', ready: Promise.resolve(), lane: Promise.resolve(), nextIndex: 0 };
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

  /** Workers wanted on the interface. */
  workersFor(iface: string): number {
    return this.targets.get(iface) ?? this.options.workersPerInterface;
  }

  private newHandle(group: InterfaceGroup, iface: string): WorkerHandle {
    const worker = new WorkerHandle(iface, group.nextIndex++, (w) => this.hung(w));
    group.workers.push(worker);
    return worker;
  }

  private async startGroup(iface: string, group: InterfaceGroup): Promise<void> {
    const first = this.newHandle(group, iface);
    await this.boot(first, -1);
    await inLane(group, () => this.enter(group, first));
    if (this.options.fanout === 'none') {
      this.options.log.warn(`fanout 'none' on ${iface}: every worker sees every packet (duplication negative control)`);
    } else {
      this.options.log.info(`PACKET_FANOUT group ID: ${group.fanoutId}`, { interface: iface, mode: this.options.fanout });
    }
    await this.grow(group, iface, this.workersFor(iface) - 1);
  }

  /** Boots `count` more workers side by side, then lets them into the group one at a time. */
  private async grow(group: InterfaceGroup, iface: string, count: number): Promise<ScalingEvent[]> {
    const added = Array.from({ length: count }, () => this.newHandle(group, iface));
    const booted = await Promise.allSettled(added.map((w) => this.boot(w, group.fanoutId)));
    const failed = booted.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      for (const w of added) await this.kill(w);
      group.workers = group.workers.filter((w) => !added.includes(w));
      throw (booted[failed] as PromiseRejectedResult).reason;
    }
    const events: ScalingEvent[] = [];
    for (const w of added) events.push(await inLane(group, () => this.enter(group, w)));
    return events;
  }

  /**
   * Sets the interface's worker count while traffic flows; resolves once the new set forwards.
   * Before the interface has workers, it is the count they start with.
   */
  async setWorkers(iface: string, count: number): Promise<{ before: number; after: number; events: ScalingEvent[] }> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_MEMBERS) throw new Error(`worker count ${count}: 1 to ${MAX_MEMBERS} (a fanout group's size, and one byte in its steering table)`);
    const before = this.workersFor(iface);
    this.targets.set(iface, count);
    const group = this.interfaces.get(iface);
    if (!group) return { before, after: count, events: [] };
    await group.ready;
    const events: ScalingEvent[] = [];
    const have = group.workers.length;
    const tally = this.scaled.get(iface) ?? { added: 0, stopped: 0 };
    this.scaled.set(iface, tally);
    if (count > have) {
      events.push(...(await this.grow(group, iface, count - have)));
      tally.added += count - have;
    }
    for (let n = group.workers.length; n > count; n--) {
      events.push(await inLane(group, () => this.shrink(group)));
      tally.stopped++;
    }
    return { before, after: count, events };
  }

  /** One worker fewer: one that is restarting if any (it holds no flows), else the group's last member. */
  private async shrink(group: InterfaceGroup): Promise<ScalingEvent> {
    const idle = group.workers.find((w) => !group.members.includes(w));
    if (idle) {
      group.workers = group.workers.filter((w) => w !== idle);
      await this.kill(idle);
      return { member: idle.name, moved: 0, heldMs: 0 };
    }
    const leaving = group.members.at(-1);
    const event = await retire(group, (w) => this.kill(w));
    group.workers = group.workers.filter((w) => w !== leaving);
    return event;
  }

  /** Joins a booted worker to the fanout group and gives it its share of the flows; ends it if that fails. */
  private async enter(group: InterfaceGroup, worker: WorkerHandle): Promise<ScalingEvent> {
    try {
      const fanoutId = await this.join(worker);
      if (group.fanoutId < 0) group.fanoutId = fanoutId;
      // Running from the join on: rule changes reach it from now (join() caught up with earlier ones).
      worker.state = 'running';
      worker.startedAt = new Date();
      const event = await admit(group, worker);
      this.options.log.info(`${worker.name} running`, { pid: worker.child?.pid, fanoutId, ...(group.steered ? { buckets: bucketsByMember(group).get(worker) } : {}) });
      return event;
    } catch (err) {
      this.lost(worker);
      await this.kill(worker);
      throw err;
    }
  }

  /** Starts the worker, waits for 'ready' and loads its rules; it joins the group later (enter). */
  private boot(worker: WorkerHandle, fanoutId: number): Promise<void> {
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
    // With setpriv in front, node starts already unprivileged. Messages go over fd 3, a socket pair
    // (not Node's IPC channel, which buffers a message without bound until its newline).
    const node = [process.execPath, WORKER_SCRIPT, JSON.stringify(config)];
    const [command, ...args] = runAs ? [runAs.setpriv, ...setprivArgs(runAs.who), ...node] : node;
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    worker.child = child;
    worker.state = 'starting';
    const name = worker.name;
    // A signal mcrd may not send (EPERM under a narrow capability set) is reported here, not thrown.
    child.on('error', (err) => this.options.log.error(`${name} (pid ${child.pid}): ${err.message}`));
    const stream = child.stdio[3] as Duplex;
    stream.on('error', () => undefined); // a worker gone mid-write: its exit says so
    stream.on('close', () => {
      if (worker.child === child) worker.channel = null;
    });

    return new Promise<void>((resolve, reject) => {
      let booted = false;
      const onMessage = (message: FromWorker) => {
        if (message.type === 'fatal') {
          this.options.log.error(`${name} failed to start: ${message.error}`);
          if (!booted) reject(new Error(`${name}: ${message.error}`));
        } else if (message.type === 'ready') {
          // Rules first, then the fanout group: a worker joining the group may take flows at
          // once, and without its table it would drop their packets.
          this.loadTable(worker)
            .then(() => {
              booted = true;
              resolve();
            })
            .catch((err: Error) => reject(new Error(`${name}: ${err.message}`)));
        } else {
          worker.settle(message);
        }
      };
      worker.channel = new MessageChannel<ToWorker, FromWorker>(stream, {
        message: onMessage,
        refused: (why) => {
          this.options.log.error(`${name} (pid ${child.pid}) sent a message mcrd refuses (${why}): killing it`);
          child.kill('SIGKILL');
        },
      });
      child.on('exit', (code, signal) => {
        worker.failAll(`${name} exited`);
        worker.child = null;
        worker.channel = null;
        if (!booted) {
          reject(new Error(`${name} exited during start (code ${code}, signal ${signal})`));
          return;
        }
        if (this.stopping || worker.state === 'stopped') return;
        this.options.log.error(`${name} (pid ${child.pid}) died (code ${code}, signal ${signal}); restarting`);
        this.lost(worker);
        this.scheduleRestart(worker);
      });
    });
  }

  /** Joins the fanout group, catching up with a rule change that came meanwhile; resolves with the group id. */
  private async join(worker: WorkerHandle): Promise<number> {
    const version = this.rulesVersion;
    const ack = await worker.request((seq) => ({ type: 'join', seq }));
    if (ack.type !== 'ack' || ack.error) throw new Error(`${worker.name}: joining the fanout group: ${ack.type === 'ack' ? ack.error : 'no answer'}`);
    // Changes skip workers that are not running yet: catch up before being marked running.
    if (this.rulesVersion !== version) await this.loadTable(worker);
    return ack.fanoutId ?? -1;
  }

  /**
   * A member's socket closed without notice (its process died): the kernel moved the group's last
   * member into its place. Mirror that at once, and steer the dead one's flows to the others.
   */
  private lost(worker: WorkerHandle): void {
    const group = this.interfaces.get(worker.iface);
    const at = group?.members.indexOf(worker) ?? -1;
    if (!group || at < 0) return;
    const count = group.members.length;
    group.members[at] = group.members[count - 1];
    group.members.pop();
    if (!group.steered || group.members.length === 0) return;
    group.owners = withMemberGone(group.owners, count, at);
    const owners = group.owners;
    void inLane(group, () => group.members[0].steer(owners)).catch((err: Error) => this.options.log.error(`steering ${worker.iface} after ${worker.name} died: ${err.message}`));
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
      if (this.stopping || !group || !group.workers.includes(worker)) return; // interface gone, or scaled down meanwhile
      this.boot(worker, group.fanoutId)
        .then(() => inLane(group, () => this.enter(group, worker)))
        .catch((err: Error) => {
          this.options.log.error(`restart of ${worker.name} failed: ${err.message}`);
          if (!this.stopping && group.workers.includes(worker)) this.scheduleRestart(worker);
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
      const buckets = group.steered ? bucketsByMember(group) : undefined;
      for (const w of group.workers) {
        out.push({
          interface: iface,
          index: w.index,
          ...(buckets ? { buckets: buckets.get(w) ?? 0 } : {}),
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

  /** Each running worker's pid, receive counter and kernel drops (cheap: for the autoscaler). */
  async loads(iface: string): Promise<{ pid: number; load: WorkerLoad }[]> {
    const group = this.interfaces.get(iface);
    const running = group?.workers.filter((w) => w.state === 'running' && w.child?.pid) ?? [];
    const replies = await Promise.all(running.map((w) => w.request((seq) => ({ type: 'load', seq })).catch(() => undefined)));
    return replies.flatMap((r, i) => (r?.type === 'load' ? [{ pid: running[i].child!.pid!, load: r.load }] : []));
  }

  /** Worker counts set at runtime (setWorkers), per interface: what the state file keeps. */
  setCounts(): Record<string, number> {
    return Object.fromEntries(this.targets);
  }

  /** Per interface with workers: how many it should have, and the workers setWorkers added and stopped. */
  scaling(): { interface: string; workers: number; added: number; stopped: number }[] {
    return [...this.interfaces.keys()].map((iface) => ({ interface: iface, workers: this.workersFor(iface), ...(this.scaled.get(iface) ?? { added: 0, stopped: 0 }) }));
  }

  /** Interfaces with workers. */
  interfacesRunning(): string[] {
    return [...this.interfaces.keys()];
  }

  private kill(worker: WorkerHandle): Promise<void> {
    worker.state = 'stopped';
    const child = worker.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      // child.kill() reports a signal it may not send (EPERM) as an 'error' event (logged in boot).
      // A worker that outlives even SIGKILL's wait is left behind, said, rather than waited for
      // forever (mcrd without CAP_KILL cannot end a worker of another user).
      let giveUp: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        giveUp = setTimeout(() => {
          this.options.log.error(`${worker.name} (pid ${child.pid}) did not exit ${2 * STOP_TIMEOUT_MS} ms after being told to stop, SIGKILL included: left running`);
          resolve();
        }, STOP_TIMEOUT_MS);
      }, STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        clearTimeout(giveUp);
        resolve();
      });
      if (worker.channel) worker.channel.send({ type: 'stop' } satisfies ToWorker);
      else child.kill('SIGTERM');
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.liveness);
    const all = [...this.interfaces.values()].flatMap((g) => g.workers);
    await Promise.all(all.map((w) => this.kill(w)));
  }
}
