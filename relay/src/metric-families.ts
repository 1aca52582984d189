// What mcrd exports to Prometheus: every family reads the supervisor's stats snapshot of the
// current scrape (the same figures `mcrctl stats` prints), so no quantity is counted twice.
// Packet counters are per worker process (labels interface, worker): a worker's counters restart
// from 0 with the worker, which Prometheus handles as a counter reset; a sum over workers (as
// mcrctl prints it) would only dip, and rate() would read that dip as a reset and overcount.
import { Counter, Gauge, type Registry } from 'prom-client';
import { WORKER_COUNTERS, type CounterSpec, type WorkerCounterKey } from './counters.js';
import type { ForwarderStats } from './native.js';
import { endpoint, type Rule } from './rules.js';
import type { RuleState, Supervisor } from './supervisor.js';
import type { WorkerInfo } from './workers.js';
import { VERSION } from './version.js';

export type RelayStats = Awaited<ReturnType<Supervisor['stats']>>;
type Labels = Record<string, string | number>;
type Emit = (labels: Labels, value: number) => void;

interface Family {
  name: string;
  help: string;
  labels: string[];
  fill(stats: RelayStats, emit: Emit): void;
}

const WORKER_LABELS = ['interface', 'worker'];
const RULE_LABELS = ['rule_id', 'rule_name', 'input', ...WORKER_LABELS];
const RULE_STATES: RuleState['state'][] = ['forwarding', 'waiting', 'joining', 'join-failed'];
const WORKER_STATES: WorkerInfo['state'][] = ['starting', 'running', 'restarting', 'stopped'];

const workerLabels = (w: WorkerInfo): Labels => ({ interface: w.interface, worker: w.index });
/** A rule's identity; its interface is the input's, the same as its workers'. */
const ruleLabels = (r: Rule): Labels => ({ rule_id: r.id, rule_name: r.name ?? '', input: `${r.inputSource ? `${r.inputSource}->` : ''}${endpoint(r.inputGroup, r.inputPort)}`, interface: r.inputInterface });

/** Workers that answered this scrape's stats request, with their counters. */
function* reporting(stats: RelayStats): Generator<[WorkerInfo, ForwarderStats]> {
  for (const w of stats.workers) if (w.stats) yield [w, w.stats];
}

function workerCounter({ key, metric, help }: CounterSpec<WorkerCounterKey>): Family {
  return {
    name: `mcr_worker_${metric}_total`,
    help,
    labels: WORKER_LABELS,
    fill: (stats, emit) => {
      for (const [w, s] of reporting(stats)) emit(workerLabels(w), s[key]);
    },
  };
}

/** Per rule and per output, as each worker counted them. */
function* rulesByWorker(stats: RelayStats) {
  const byId = new Map(stats.rules.map((r) => [r.id, r]));
  for (const [w, s] of reporting(stats)) {
    for (const counted of s.rules) {
      const rule = byId.get(counted.id);
      if (!rule) continue; // removed between the workers' answers and the rule list: gone next scrape
      const labels: Labels = { ...ruleLabels(rule), worker: w.index };
      yield { rule, counted, labels };
    }
  }
}

function outputCounter(key: 'packets' | 'bytes' | 'errors', help: string): Family {
  return {
    name: `mcr_output_${key}_total`,
    help,
    labels: [...RULE_LABELS, 'output'],
    fill: (stats, emit) => {
      for (const { rule, counted, labels } of rulesByWorker(stats)) {
        rule.outputs.forEach((o, i) => emit({ ...labels, output: `${endpoint(o.group, o.port)}:${o.interface}` }, counted.outputs[i]?.[key] ?? 0));
      }
    },
  };
}

const igmp = (key: keyof RelayStats['igmp'], name: string, help: string): Family => ({ name: `mcr_igmp_${name}`, help, labels: [], fill: (stats, emit) => emit({}, Number(stats.igmp[key])) });

export const COUNTERS: Family[] = [
  ...WORKER_COUNTERS.map(workerCounter),
  {
    name: 'mcr_worker_dropped_frames_total',
    help: 'Frames dropped before the rule lookup, by reason: each class of malformed frame, and vlan_tagged (another VLAN\'s frame seen on its parent).',
    labels: [...WORKER_LABELS, 'reason'],
    fill: (stats, emit) => {
      for (const [w, s] of reporting(stats)) for (const [reason, n] of Object.entries(s.dropped ?? {})) emit({ ...workerLabels(w), reason }, n);
    },
  },
  {
    name: 'mcr_worker_restarts_total',
    help: 'Times mcrd restarted this worker after it died.',
    labels: WORKER_LABELS,
    fill: (stats, emit) => stats.workers.forEach((w) => emit(workerLabels(w), w.restarts)),
  },
  {
    name: 'mcr_rule_packets_total',
    help: 'Packets that matched the rule, per worker (sum by rule_id: the PACKETS of mcrctl stats).',
    labels: RULE_LABELS,
    fill: (stats, emit) => {
      for (const { counted, labels } of rulesByWorker(stats)) emit(labels, counted.packets);
    },
  },
  {
    name: 'mcr_rule_bytes_total',
    help: 'UDP payload bytes that matched the rule, per worker.',
    labels: RULE_LABELS,
    fill: (stats, emit) => {
      for (const { counted, labels } of rulesByWorker(stats)) emit(labels, counted.bytes);
    },
  },
  outputCounter('packets', 'Datagrams sent to the output, per worker (sum by rule_id, output: the OUT PACKETS of mcrctl stats).'),
  outputCounter('bytes', 'UDP payload bytes sent to the output, per worker.'),
  outputCounter('errors', 'Datagrams for the output whose send failed, per worker.'),
  {
    name: 'mcr_workers_added_total',
    help: "Workers added to the interface at runtime ('mcrctl workers set', or scaling by load with --workers MIN..MAX).",
    labels: ['interface'],
    fill: (stats, emit) => stats.scaling.forEach((i) => emit({ interface: i.interface }, i.added)),
  },
  {
    name: 'mcr_workers_stopped_total',
    help: 'Workers stopped on the interface at runtime (each forwarded what waited in its ring first, in hash mode).',
    labels: ['interface'],
    fill: (stats, emit) => stats.scaling.forEach((i) => emit({ interface: i.interface }, i.stopped)),
  },
  igmp('attempted', 'joins_attempted_total', 'IGMP joins attempted (retries included).'),
  igmp('succeeded', 'joins_succeeded_total', 'IGMP joins that succeeded.'),
  igmp('failed', 'joins_failed_total', 'IGMP joins that failed.'),
  igmp('leaves', 'leaves_total', 'IGMP groups left.'),
];

export const GAUGES: Family[] = [
  {
    name: 'mcr_rule_state',
    help: "1 for the rule's current state: forwarding, waiting (for an interface), joining (IGMP join being retried), join-failed; mcrctl list says what it waits for.",
    labels: ['rule_id', 'rule_name', 'input', 'interface', 'state'],
    fill: (stats, emit) => {
      for (const r of stats.rules) for (const state of RULE_STATES) emit({ ...ruleLabels(r), state }, r.status.state === state ? 1 : 0);
    },
  },
  {
    name: 'mcr_worker_state',
    help: "1 for the worker's current state: starting, running, restarting, stopped.",
    labels: [...WORKER_LABELS, 'state'],
    fill: (stats, emit) => {
      for (const w of stats.workers) for (const state of WORKER_STATES) emit({ ...workerLabels(w), state }, w.state === state ? 1 : 0);
    },
  },
  {
    name: 'mcr_workers',
    help: 'Workers the interface is to have now (set at start, by mcrctl workers set, or by scaling by load).',
    labels: ['interface'],
    fill: (stats, emit) => stats.scaling.forEach((i) => emit({ interface: i.interface }, i.workers)),
  },
  {
    name: 'mcr_worker_steering_buckets',
    help: "Steering buckets (of 256) whose flows the worker takes (fanout 'hash').",
    labels: WORKER_LABELS,
    fill: (stats, emit) => stats.workers.forEach((w) => w.buckets !== undefined && emit(workerLabels(w), w.buckets)),
  },
  igmp('activeGroups', 'active_groups', 'Groups joined now.'),
  igmp('sockets', 'helper_sockets', 'IGMP helper sockets open (each holds at most igmp_max_memberships groups).'),
  igmp('joining', 'joining_groups', 'Groups wanted but not joined yet (a retry is scheduled).'),
  igmp('failedGroups', 'failed_groups', 'Groups wanted whose join retries ran out.'),
  igmp('leaving', 'leaving_groups', 'Groups still joined during --igmp-leave-delay.'),
  igmp('enabled', 'enabled', '1 when mcrd joins input groups, 0 with --no-igmp.'),
  { name: 'mcr_build_info', help: "mcrd's version (value always 1).", labels: ['version'], fill: (_stats, emit) => emit({ version: VERSION }, 1) },
];

/**
 * Registers every family on the registry. Their collect() reads `snapshot()`: the stats of the
 * scrape under way, fetched once and shared by all families.
 */
export function registerRelayMetrics(registry: Registry, snapshot: () => Promise<RelayStats>): void {
  for (const f of COUNTERS) {
    new Counter({
      name: f.name,
      help: f.help,
      labelNames: f.labels,
      registers: [registry],
      async collect() {
        const stats = await snapshot();
        this.reset(); // series of removed rules and workers disappear
        f.fill(stats, (labels, value) => this.inc(labels, value));
      },
    });
  }
  for (const f of GAUGES) {
    new Gauge({
      name: f.name,
      help: f.help,
      labelNames: f.labels,
      registers: [registry],
      async collect() {
        const stats = await snapshot();
        this.reset();
        f.fill(stats, (labels, value) => this.set(labels, value));
      },
    });
  }
}
