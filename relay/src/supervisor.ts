// mcrd's brain: the authoritative rule table, IGMP memberships and the worker pool.
// It never touches packets. Rule changes are serialised and answered only after every
// worker of the interface applied them.
import { IgmpPool, type IgmpOps } from './igmp-pool.js';
import type { Logger } from './log.js';
import type { FanoutMode, IngressMode, NativeRule, RuleStats } from './native.js';
import { COMMANDS } from './protocol.js';
import { RuleTable, describeInput, validateRuleSpec, type Rule } from './rules.js';
import { WorkerPool, type WorkerStats } from './workers.js';
import { VERSION } from './version.js';

export interface SupervisorOptions {
  workers: number;
  fanout: FanoutMode;
  ingress: IngressMode;
  ringMiB: number;
  interfaces: string[];
  /** Join input groups with IGMP (default true). */
  joinGroups?: boolean;
  log: Logger;
  igmp: IgmpOps;
  interfaceExists(name: string): boolean;
}

export interface RuleWithStats extends Rule {
  packets: number;
  bytes: number;
  outputs: (Rule['outputs'][number] & { packets: number; bytes: number; errors: number })[];
}

function toNative(rule: Rule): NativeRule {
  return { id: rule.id, group: rule.inputGroup, port: rule.inputPort, outputs: rule.outputs.map((o) => ({ ...o })) };
}

export class Supervisor {
  readonly rules = new RuleTable();
  readonly igmp: IgmpPool;
  readonly pool: WorkerPool;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SupervisorOptions) {
    this.igmp = new IgmpPool(options.igmp, options.log);
    this.pool = new WorkerPool({
      workersPerInterface: options.workers,
      fanout: options.fanout,
      ingress: options.ingress,
      ringMiB: options.ringMiB,
      log: options.log,
      rulesFor: (iface) => this.rules.forInterface(iface).map(toNative),
    });
  }

  async start(): Promise<void> {
    for (const iface of this.options.interfaces) {
      if (!this.options.interfaceExists(iface)) throw new Error(`--interface ${iface}: no such interface`);
      await this.pool.ensureInterface(iface);
    }
  }

  private joinsGroups(): boolean {
    return this.options.joinGroups !== false;
  }

  /** Runs rule changes one at a time, in arrival order. */
  private serialised<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  addRule(spec: unknown): Promise<Rule> {
    return this.serialised(async () => {
      const rule = this.rules.prepare(validateRuleSpec(spec, this.options.interfaceExists));
      await this.pool.ensureInterface(rule.inputInterface);
      const joinedHere = this.joinsGroups() && !this.igmp.isJoined(rule.inputInterface, rule.inputGroup);
      if (joinedHere) this.igmp.join(rule.inputInterface, rule.inputGroup);
      this.rules.commit(rule);
      try {
        await this.pool.applyChange(rule.inputInterface, { upsert: [toNative(rule)] });
      } catch (err) {
        this.rules.delete(rule.id);
        if (joinedHere) this.igmp.leave(rule.inputInterface, rule.inputGroup);
        // Workers that applied it must drop it again.
        await this.pool.applyChange(rule.inputInterface, { remove: [rule.id] }).catch(() => undefined);
        throw new Error(`rule for ${describeInput(rule)} not added: ${(err as Error).message}`);
      }
      this.options.log.info(`rule ${rule.id} added: ${describeInput(rule)} -> ${rule.outputs.map((o) => `${o.group}:${o.port}:${o.interface}`).join(',')}`);
      return rule;
    });
  }

  removeRule(selector: { id?: unknown; name?: unknown }): Promise<Rule> {
    return this.serialised(async () => {
      const rule = this.rules.find(selector);
      this.rules.delete(rule.id);
      await this.pool.applyChange(rule.inputInterface, { remove: [rule.id] });
      if (this.rules.usersOfGroup(rule.inputInterface, rule.inputGroup) === 0) this.igmp.leave(rule.inputInterface, rule.inputGroup);
      this.options.log.info(`rule ${rule.id} removed: ${describeInput(rule)}`);
      return rule;
    });
  }

  async stats(): Promise<{ workers: WorkerStats[]; rules: RuleWithStats[]; igmp: ReturnType<IgmpPool['stats']> & { enabled: boolean }; totals: Record<string, number> }> {
    const workers = await this.pool.stats();
    const totals: Record<string, number> = { rx: 0, matched: 0, unmatched: 0, malformed: 0, kernelDrops: 0, ringFreezes: 0, tx: 0, txErrors: 0 };
    const perRule = new Map<string, RuleStats[]>();
    for (const w of workers) {
      if (!w.stats) continue;
      for (const key of Object.keys(totals)) totals[key] += (w.stats as unknown as Record<string, number>)[key] ?? 0;
      for (const r of w.stats.rules) perRule.set(r.id, [...(perRule.get(r.id) ?? []), r]);
    }
    const rules = this.rules.list().map((rule): RuleWithStats => {
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
    return { workers, rules, igmp: { ...this.igmp.stats(), enabled: this.joinsGroups() }, totals };
  }

  /** Handles one control request; throws with a message meant for the caller. */
  async handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case 'ping':
        return { pong: true };
      case 'version':
        return { version: VERSION, node: process.version, pid: process.pid };
      case 'add':
        return { rule: await this.addRule(args.rule) };
      case 'remove':
        return { rule: await this.removeRule({ id: args.ruleId, name: args.name }) };
      case 'list':
        return { rules: this.rules.list() };
      case 'stats':
        return this.stats();
      case 'workers':
        return { workers: this.pool.describe() };
      default:
        throw new Error(`unknown command '${cmd}' (known: ${COMMANDS.join(', ')})`);
    }
  }

  async stop(): Promise<void> {
    await this.serialised(async () => {
      await this.pool.stop();
      this.igmp.leaveAll();
    });
  }
}
