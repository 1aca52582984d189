// mcrd's brain: the authoritative rule table, IGMP memberships, the worker pool and the links
// they depend on. It never touches packets. Every change goes through one queue (change-queue.ts)
// and is acknowledged only after every worker applied it and the state file (if any) holds it.
import { ChangeQueue, type ChangeJob } from './change-queue.js';
import { sumCounters, WORKER_COUNTERS, type WorkerCounters } from './counters.js';
import { IgmpPool, membershipKey, type IgmpOps, type IgmpPolicy, type Membership, type WantedGroups } from './igmp-pool.js';
import type { Logger } from './log.js';
import type { EgressMode, FanoutMode, IngressMode, NativeRule, RuleStats } from './native.js';
import type { PeerCredentials as Peer } from './control-server.js';
import { COMMANDS } from './protocol.js';
import { addRule, applyBatch, mergeConfigRules, removeRule, type ApplyResult, type ConfigMerge } from './changes.js';
import { RuleTable, describeInput, diffTables, endpoint, type Rule } from './rules.js';
import { readState, saveState } from './state-file.js';
import { MAX_MEMBERS, STEERING_BUCKETS } from './steering.js';
import { NeighbourWarning, neighbourThreshold } from './neighbour-limit.js';
import { WorkerPool, type WorkerPoolOptions, type WorkerStats } from './workers.js';
import type { ScalingEvent } from './scaling.js';
import { AutoScaler, type ScalePolicy } from './autoscale.js';
import { VERSION } from './version.js';

export interface SupervisorOptions {
  /** Workers each input interface starts with. */
  workers: number;
  /** Scale each interface's workers by load within this range (--workers MIN..MAX). */
  autoscale?: ScalePolicy;
  fanout: FanoutMode;
  ingress: IngressMode;
  egress: EgressMode;
  ringMiB: number;
  interfaces: string[];
  /** Join input groups with IGMP (default true). */
  joinGroups?: boolean;
  igmpPolicy?: IgmpPolicy;
  /** Where every acknowledged change is kept across restarts (--state-file). */
  stateFile?: string;
  /** Run workers as this user with only CAP_NET_RAW (through setpriv). */
  runAs?: WorkerPoolOptions['runAs'];
  log: Logger;
  igmp: IgmpOps;
  /** ifindex of an interface, 0 when it does not exist. */
  interfaceIndex(name: string): number;
}

export type RuleState = { state: 'forwarding' } | { state: 'waiting'; for: string } | { state: 'joining' | 'join-failed'; error: string; attempts: number };

export interface RuleWithState extends Rule {
  status: RuleState;
}

export interface RuleWithStats extends RuleWithState {
  packets: number;
  bytes: number;
  outputs: (Rule['outputs'][number] & { packets: number; bytes: number; errors: number })[];
}

export type { ApplyResult } from './changes.js';

function toNative(rule: Rule): NativeRule {
  return { id: rule.id, group: rule.inputGroup, ...(rule.inputSource ? { source: rule.inputSource } : {}), port: rule.inputPort, outputs: rule.outputs.map((o) => ({ group: o.group, port: o.port, interface: o.interface, ttl: o.ttl, ...(o.fixedTtl ? { fixedTtl: true } : {}), ...(o.dscp === undefined ? {} : { dscp: o.dscp }) })) };
}

const outputsText = (rule: Rule) => rule.outputs.map((o) => `${endpoint(o.group, o.port)}:${o.interface}`).join(',');
const byWhom = (peer?: Peer) => (peer ? ` (by uid ${peer.uid} pid ${peer.pid})` : '');

export class Supervisor {
  private rules = new RuleTable();
  readonly igmp: IgmpPool;
  readonly pool: WorkerPool;
  private readonly queue: ChangeQueue;
  private readonly neighbours: NeighbourWarning;
  /** Input interfaces whose workers run, with the ifindex they were started on. */
  private readonly inputs = new Map<string, number>();
  /** Output interfaces in use, with the ifindex the workers' tables were built with. */
  private readonly outputs = new Map<string, number>();
  private linksQueued = false;
  private readonly autoscaler?: AutoScaler;

  constructor(private readonly options: SupervisorOptions) {
    this.igmp = new IgmpPool(options.igmp, options.log, options.igmpPolicy);
    this.pool = new WorkerPool({
      workersPerInterface: options.workers,
      fanout: options.fanout,
      ingress: options.ingress,
      egress: options.egress,
      ringMiB: options.ringMiB,
      runAs: options.runAs,
      log: options.log,
      rulesFor: (iface) => this.rules.forInterface(iface).map(toNative),
    });
    this.queue = new ChangeQueue((batch) => this.commit(batch));
    this.neighbours = new NeighbourWarning(options.log, neighbourThreshold());
    if (options.autoscale) this.autoscaler = new AutoScaler(this.pool, options.autoscale, options.log, (iface, count, reason) => this.scale(iface, count, `autoscale: ${reason}`));
  }

  private exists = (name: string) => this.options.interfaceIndex(name) > 0;

  /**
   * Restores the state file (refusing a bad one whole) and merges the config file's rules as one
   * change, then starts the workers of --interface interfaces that have no rules.
   */
  async start(configRules: unknown[] = []): Promise<void> {
    for (const iface of this.options.interfaces) if (!this.exists(iface)) throw new Error(`--interface ${iface}: no such interface`);
    const state = this.options.stateFile ? readState(this.options.stateFile, MAX_MEMBERS) : undefined;
    const saved = state?.rules;
    if (saved) this.options.log.info(`restoring ${saved.length} rules from ${this.options.stateFile}`);
    for (const [iface, count] of Object.entries(state?.workers ?? {})) {
      const range = this.options.autoscale;
      const kept = range ? Math.min(range.max, Math.max(range.min, count)) : count;
      await this.pool.setWorkers(iface, kept); // interfaces start later: this is the count they start with
      this.options.log.info(`restoring ${kept} workers for ${iface} from ${this.options.stateFile}`);
    }
    // Rules first: workers of their interfaces then start with the whole table and join the fanout
    // group ready to forward (started empty, they would drop the flows the kernel hands them).
    await this.queue.change((table) => {
      for (const rule of saved ?? []) table.commit(rule);
      return mergeConfigRules(table, configRules, this.exists);
    });
    for (const iface of this.options.interfaces) await this.queue.task(() => this.startInterface(iface));
    this.autoscaler?.start();
  }

  private joinsGroups(): boolean {
    return this.options.joinGroups !== false;
  }

  /** The groups IGMP should hold: those of rules whose input interface exists. */
  private wantedGroups(): WantedGroups {
    const wanted: WantedGroups = new Map();
    if (!this.joinsGroups()) return wanted;
    const present = new Map<string, boolean>(); // one lookup per interface, not per rule
    for (const rule of this.rules.list()) {
      if (!present.has(rule.inputInterface)) present.set(rule.inputInterface, this.exists(rule.inputInterface));
      if (!present.get(rule.inputInterface)) continue;
      let groups = wanted.get(rule.inputInterface);
      if (!groups) wanted.set(rule.inputInterface, (groups = new Set()));
      groups.add(membershipKey(rule.inputGroup, rule.inputSource));
    }
    return wanted;
  }

  /** Starts the interface's workers, if it exists and they do not run yet. */
  private async startInterface(iface: string): Promise<void> {
    const index = this.options.interfaceIndex(iface);
    if (index === 0) return;
    await this.pool.ensureInterface(iface);
    this.inputs.set(iface, index);
  }

  /** Commits queued changes as one: table swap, workers, IGMP, state file; undone whole on failure. */
  private async commit(batch: ChangeJob[]): Promise<void> {
    const before = this.rules;
    const after = before.clone();
    const accepted: { job: ChangeJob; result: unknown }[] = [];
    for (const job of batch) {
      try {
        accepted.push({ job, result: job.mutate(after) });
      } catch (err) {
        job.reject(err as Error);
      }
    }
    if (accepted.length === 0) return;
    try {
      await this.realise(before, after);
    } catch (err) {
      if (accepted.length === 1) {
        accepted[0].job.reject(err as Error);
        return;
      }
      // One of them is to blame: commit them one at a time so only that one fails.
      for (const { job } of accepted) await this.commit([job]);
      return;
    }
    for (const { job, result } of accepted) {
      job.announce?.(result);
      job.resolve(result);
    }
  }

  /** Makes workers, IGMP and the state file follow the table `after`; on failure puts `before` back. */
  private async realise(before: RuleTable, after: RuleTable): Promise<void> {
    // Workers starting meanwhile load rulesFor(), so the new table is in place first.
    this.rules = after;
    const diff = diffTables(before, after);
    // Memberships first: after a restart the switch may otherwise expire them (the old process's
    // sockets left) while the workers are still starting.
    this.igmp.sync(this.wantedGroups());
    try {
      for (const [iface, change] of diff) {
        if (change.upsert.length && !this.inputs.has(iface)) await this.startInterface(iface);
        await this.pool.applyChange(iface, { upsert: change.upsert.map(toNative), remove: change.remove });
      }
      if (this.options.stateFile) {
        try {
          this.save(this.options.stateFile, after);
        } catch (err) {
          throw new Error(`state file ${this.options.stateFile} not written (${(err as Error).message}): change undone`);
        }
      }
    } catch (err) {
      this.rules = before;
      for (const iface of diff.keys()) await this.pool.reloadInterface(iface).catch(() => undefined);
      this.igmp.sync(this.wantedGroups());
      throw err;
    }
    for (const rule of after.list()) for (const o of rule.outputs) if (!this.outputs.has(o.interface)) this.outputs.set(o.interface, this.options.interfaceIndex(o.interface));
    // Frames (the default egress) make no neighbour entries; only the IP stack's path does.
    if (this.options.egress === 'udp') this.neighbours.check(new Set(after.list().flatMap((rule) => rule.outputs.map((o) => o.group))).size);
  }

  /** The state file holds the table and the worker counts set at runtime. */
  private save(file: string, table: RuleTable): void {
    saveState(file, table.list(), undefined, this.pool.setCounts());
  }

  addRule(spec: unknown, peer?: Peer): Promise<Rule> {
    return this.queue.change(
      (table) => addRule(table, spec, this.exists),
      (rule) => this.options.log.info(`rule ${rule.id} added: ${describeInput(rule)} -> ${outputsText(rule)}${byWhom(peer)}`),
    );
  }

  removeRule(selector: { id?: unknown; name?: unknown }, peer?: Peer): Promise<Rule> {
    return this.queue.change(
      (table) => removeRule(table, selector),
      (rule) => this.options.log.info(`rule ${rule.id} removed: ${describeInput(rule)}${byWhom(peer)}`),
    );
  }

  /** Many adds and removes as one change: all applied, or none (the first problem is the error). */
  apply(request: { add?: unknown; remove?: unknown }, peer?: Peer): Promise<ApplyResult> {
    return this.queue.change(
      (table) => applyBatch(table, request, this.exists),
      (result) => this.options.log.info(`applied ${result.added.length} adds and ${result.removed.length} removes as one change${byWhom(peer)}`),
    );
  }

  /** Changes an input interface's worker count while traffic flows (workers.ts setWorkers). */
  async setWorkers(iface: unknown, count: unknown, peer?: Peer): Promise<{ interface: string; before: number; after: number; events: ScalingEvent[] }> {
    if (typeof iface !== 'string' || !this.exists(iface)) throw new Error(`set-workers: unknown interface ${JSON.stringify(iface)}`);
    if (typeof count !== 'number') throw new Error(`set-workers: count must be a number, not ${JSON.stringify(count)}`);
    const range = this.options.autoscale;
    if (range && (count < range.min || count > range.max)) throw new Error(`set-workers: ${count} is outside --workers ${range.min}..${range.max}, within which mcrd scales by load`);
    return this.scale(iface, count, `set${byWhom(peer)}`);
  }

  /** Sets the count and logs one line: what changed, why, what it moved and how long readers waited. */
  private async scale(iface: string, count: number, why: string): Promise<{ interface: string; before: number; after: number; events: ScalingEvent[] }> {
    const result = await this.pool.setWorkers(iface, count);
    // Kept across restarts like a rule change; a count that could not be saved still runs, and says so.
    if (this.options.stateFile) {
      const file = this.options.stateFile;
      await this.queue.task(async () => this.save(file, this.rules)).catch((err: Error) => this.options.log.error(`workers of ${iface}: state file ${file} not written (${err.message}): the count is not kept across a restart`));
    }
    const moved = result.events.reduce((n, e) => n + e.moved, 0);
    const held = Math.max(0, ...result.events.map((e) => e.heldMs));
    this.options.log.info(`workers of ${iface}: ${result.before} -> ${result.after} (${why}); ${moved} of ${STEERING_BUCKETS} flow buckets moved, readers held at most ${held.toFixed(1)} ms`);
    return { interface: iface, ...result };
  }

  /** SIGHUP: the config file's rules again, as one change. */
  reloadConfig(specs: unknown[]): Promise<ConfigMerge> {
    return this.queue.change(
      (table) => mergeConfigRules(table, specs, this.exists),
      (counts) => this.options.log.info(`config reloaded: ${counts.added} rules added, ${counts.changed} changed, ${counts.removed} removed`),
    );
  }

  /** A link appeared, vanished or changed (rtnetlink): bring workers, tables and joins in line. */
  linksChanged(): void {
    if (this.linksQueued) return;
    this.linksQueued = true;
    void this.queue.task(async () => {
      this.linksQueued = false;
      await this.followLinks();
    });
  }

  private async followLinks(): Promise<void> {
    const log = this.options.log;
    const inputs = new Set([...this.options.interfaces, ...this.rules.list().map((r) => r.inputInterface)]);
    for (const iface of inputs) {
      const now = this.options.interfaceIndex(iface);
      const was = this.inputs.get(iface);
      if (was !== undefined && was !== now) {
        await this.pool.stopInterface(iface);
        this.inputs.delete(iface);
        this.igmp.forgetInterface(iface);
        const waiting = this.rules.forInterface(iface).length;
        if (now === 0) log.warn(`interface ${iface} is gone: its workers stopped; ${waiting} rules wait for it`);
        else log.warn(`interface ${iface} was re-created (ifindex ${was} -> ${now}): restarting its workers`);
      }
      if (now > 0 && !this.inputs.has(iface)) {
        try {
          await this.startInterface(iface);
          log.info(`interface ${iface} is up (ifindex ${now}): workers running, ${this.rules.forInterface(iface).length} rules forwarding`);
        } catch (err) {
          log.error(`interface ${iface}: workers did not start: ${(err as Error).message}; retried at the next link change`);
        }
      }
    }
    for (const [iface, was] of [...this.outputs]) {
      const now = this.options.interfaceIndex(iface);
      if (now === was) continue;
      this.outputs.set(iface, now);
      const users = new Set(this.rules.list().filter((r) => r.outputs.some((o) => o.interface === iface)).map((r) => r.inputInterface));
      if (now === 0) {
        log.warn(`output interface ${iface} is gone: packets for it are counted as output errors until it is back`);
        continue;
      }
      for (const input of users) await this.pool.reloadInterface(input).catch((err: Error) => log.error(`reloading workers of ${input}: ${err.message}`));
      log.info(`output interface ${iface} is back (ifindex ${now}): ${users.size} input interfaces reloaded`);
    }
    this.igmp.sync(this.wantedGroups());
  }

  private statusOf(rule: Rule): RuleState {
    if (!this.inputs.has(rule.inputInterface)) return { state: 'waiting', for: rule.inputInterface };
    const missing = rule.outputs.find((o) => this.outputs.get(o.interface) === 0);
    if (missing) return { state: 'waiting', for: missing.interface };
    const m: Membership | undefined = this.joinsGroups() ? this.igmp.membership(rule.inputInterface, membershipKey(rule.inputGroup, rule.inputSource)) : undefined;
    if (m && m.state !== 'joined') return { state: m.state === 'failed' ? 'join-failed' : 'joining', error: m.error, attempts: m.attempts };
    return { state: 'forwarding' };
  }

  list(): RuleWithState[] {
    return this.rules.list().map((rule) => ({ ...rule, status: this.statusOf(rule) }));
  }

  async stats(): Promise<{ workers: WorkerStats[]; scaling: ReturnType<WorkerPool['scaling']>; rules: RuleWithStats[]; igmp: ReturnType<IgmpPool['stats']> & { enabled: boolean }; totals: WorkerCounters; dropped: Record<string, number> }> {
    const workers = await this.pool.stats();
    const totals = sumCounters(WORKER_COUNTERS, workers.flatMap((w) => (w.stats ? [w.stats] : [])));
    const dropped: Record<string, number> = {};
    const perRule = new Map<string, RuleStats[]>();
    for (const w of workers) {
      if (!w.stats) continue;
      for (const [why, n] of Object.entries(w.stats.dropped ?? {})) dropped[why] = (dropped[why] ?? 0) + n;
      for (const r of w.stats.rules) perRule.set(r.id, [...(perRule.get(r.id) ?? []), r]);
    }
    const rules = this.list().map((rule): RuleWithStats => {
      const parts = perRule.get(rule.id) ?? [];
      return {
        ...rule,
        packets: parts.reduce((n, p) => n + p.packets, 0),
        bytes: parts.reduce((n, p) => n + p.bytes, 0),
        outputs: rule.outputs.map((o, i) => ({
          ...o,
          packets: parts.reduce((n, p) => n + (p.outputs[i]?.packets ?? 0), 0),
          bytes: parts.reduce((n, p) => n + (p.outputs[i]?.bytes ?? 0), 0),
          errors: parts.reduce((n, p) => n + (p.outputs[i]?.errors ?? 0), 0),
        })),
      };
    });
    return { workers, scaling: this.pool.scaling(), rules, igmp: { ...this.igmp.stats(), enabled: this.joinsGroups() }, totals, dropped };
  }

  /** Handles one control request; throws with a message meant for the caller. */
  async handle(cmd: string, args: Record<string, unknown>, peer?: Peer): Promise<unknown> {
    switch (cmd) {
      case 'ping':
        return { pong: true };
      case 'version':
        return { version: VERSION, node: process.version, pid: process.pid };
      case 'add':
        return { rule: await this.addRule(args.rule, peer) };
      case 'remove':
        return { rule: await this.removeRule({ id: args.ruleId, name: args.name }, peer) };
      case 'apply':
        return this.apply({ add: args.add, remove: args.remove }, peer);
      case 'list':
        return { rules: this.list() };
      case 'stats':
        return this.stats();
      case 'workers':
        return { workers: this.pool.describe() };
      case 'set-workers':
        return this.setWorkers(args.interface, args.count, peer);
      default:
        throw new Error(`unknown command '${cmd}' (known: ${COMMANDS.join(', ')})`);
    }
  }

  async stop(): Promise<void> {
    this.autoscaler?.stop();
    await this.queue.task(async () => {
      await this.pool.stop();
      this.igmp.leaveAll();
      this.igmp.logStats();
    });
  }
}
