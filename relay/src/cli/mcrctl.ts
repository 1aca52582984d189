// mcrctl: add, remove and list rules and read stats from a running mcrd.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import JSON5 from 'json5';
import { ControlClient } from '../control-client.js';
import { counterLine, WORKER_COUNTERS } from '../counters.js';
import { DEFAULT_SOCKET_PATH } from '../protocol.js';
import { endpoint, parseOutputSpec, type Rule } from '../rules.js';
import type { ApplyResult, RuleState, RuleWithState, RuleWithStats } from '../supervisor.js';
import { renderTable } from '../table.js';
import { STEERING_BUCKETS } from '../steering.js';
import type { WorkerInfo, WorkerStats } from '../workers.js';

const program = new Command('mcrctl')
  .description('Control a running mcrd over its Unix socket.')
  .option('-s, --socket <path>', 'mcrd control socket', DEFAULT_SOCKET_PATH)
  .option('--json', 'print the raw JSON result (for machines)')
  .showHelpAfterError();

async function call<T>(cmd: string, args: Record<string, unknown>, show: (result: T) => string): Promise<void> {
  const { socket, json } = program.opts<{ socket: string; json?: boolean }>();
  const client = await ControlClient.connect(socket);
  try {
    const result = await client.request<T>(cmd, args);
    console.log(json ? JSON.stringify(result, null, 2) : show(result));
  } finally {
    client.close();
  }
}

const outputsText = (rule: Rule) =>
  rule.outputs.map((o) => `${endpoint(o.group, o.port)}:${o.interface}${o.fixedTtl ? `:=${o.ttl}` : o.ttl === 8 ? '' : `:${o.ttl}`}${o.dscp === undefined ? '' : ` dscp ${o.dscp}`}`).join(',');

function stateText(status: RuleState | undefined): string {
  if (!status) return '-';
  if (status.state === 'waiting') return `waiting for ${status.for}`;
  if (status.state === 'forwarding') return 'forwarding';
  return `${status.state} (${status.attempts} attempts: ${status.error})`;
}

function rulesTable(rules: (Rule | RuleWithState)[]): string {
  if (rules.length === 0) return 'no rules';
  return renderTable(
    ['ID', 'NAME', 'INPUT', 'OUTPUTS', 'STATE'],
    rules.map((r) => [r.id, r.name ?? '-', `${r.inputSource ? `${r.inputSource}->` : ''}${endpoint(r.inputGroup, r.inputPort)}:${r.inputInterface}`, outputsText(r), stateText('status' in r ? r.status : undefined)]),
  );
}

/** A rules file: a list of rules to add, or { add: [...], remove: [{id} | {name}, ...] }. */
function readChangeFile(file: string): { add: unknown[]; remove: unknown[] } {
  let doc: unknown;
  try {
    doc = file === '-' ? JSON5.parse(readFileSync(0, 'utf8')) : JSON5.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  if (Array.isArray(doc)) return { add: doc, remove: [] };
  if (typeof doc === 'object' && doc !== null) {
    const { add = [], remove = [], ...rest } = doc as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length) throw new Error(`${file}: unknown key '${unknown[0]}' (a file holds a list of rules, or { add: [...], remove: [...] })`);
    if (Array.isArray(add) && Array.isArray(remove)) return { add, remove };
  }
  throw new Error(`${file}: must hold a list of rules, or { add: [...], remove: [{ id } or { name }, ...] }`);
}

function workersTable(workers: (WorkerInfo | WorkerStats)[]): string {
  if (workers.length === 0) return 'no workers (they start with the first rule on an interface, or with --interface)';
  return renderTable(
    ['INTERFACE', '#', 'PID', 'STATE', 'RESTARTS', 'FANOUT ID', 'BUCKETS', 'RX', 'MATCHED', 'TX', 'TX MSGS', 'DROPS', 'TX ERR'],
    workers.map((w) => {
      const s = 'stats' in w ? w.stats : undefined;
      return [w.interface, w.index, w.pid ?? '-', w.state, w.restarts, w.fanoutId, w.buckets ?? '-', s?.rx ?? '-', s?.matched ?? '-', s?.tx ?? '-', s?.txMessages ?? '-', s?.kernelDrops ?? '-', s?.txErrors ?? '-'];
    }),
  );
}

program
  .command('add')
  .description('add a forwarding rule (answered once every worker applied it)')
  .requiredOption('--input-interface <if>', 'interface the multicast arrives on')
  .requiredOption('--input-group <group>', 'multicast group to receive: IPv4 (239.1.1.1) or IPv6 (ff15::1)')
  .requiredOption('--input-port <port>', 'UDP destination port to receive')
  .option('--input-source <addr>', 'only datagrams from this source (source-specific multicast: joined with an IGMPv3 or MLDv2 source-specific join)')
  .requiredOption('--outputs <list>', 'GROUP:PORT:INTERFACE[:TTL][,...] destinations, an IPv6 group in brackets ([ff15::8]:6003:eth1; either family from either); TTL (hop limit for IPv6) (default 8) is the most sent, never more than the input TTL - 1; :=TTL sends exactly TTL (for sources that send TTL 1; no loop safety)')
  .option('--name <name>', 'a name to refer to the rule by')
  .option('--wait-for-interface', 'accept interfaces that do not exist yet: the rule waits for them')
  .action(async (o: { inputInterface: string; inputGroup: string; inputPort: string; inputSource?: string; outputs: string; name?: string; waitForInterface?: boolean }) => {
    const rule = {
      ...(o.inputSource === undefined ? {} : { inputSource: o.inputSource }),
      ...(o.name === undefined ? {} : { name: o.name }),
      ...(o.waitForInterface ? { waitForInterface: true } : {}),
      inputInterface: o.inputInterface,
      inputGroup: o.inputGroup,
      inputPort: o.inputPort,
      outputs: o.outputs.split(',').map(parseOutputSpec),
    };
    await call<{ rule: Rule }>('add', { rule }, (r) => `added rule ${r.rule.id}\n${rulesTable([r.rule])}`);
  });

program
  .command('remove')
  .description('remove a rule by id or name')
  .option('--id <id>', 'rule id (see list)')
  .option('--name <name>', 'rule name')
  .action(async (o: { id?: string; name?: string }) => {
    if ((o.id === undefined) === (o.name === undefined)) throw new Error('remove needs exactly one of --id or --name');
    await call<{ rule: Rule }>('remove', o.id !== undefined ? { ruleId: o.id } : { name: o.name }, (r) => `removed rule ${r.rule.id}`);
  });

program
  .command('apply')
  .description('add and remove many rules as one change: all of it or nothing, answered once every worker applied it')
  .requiredOption('-f, --file <file>', "JSON5 file ('-' for stdin): a list of rules, or { add: [...], remove: [{ id } or { name }] }")
  .addHelpText('after', `
Each rule has the fields of 'add': { name?, inputInterface, inputGroup, inputPort,
  outputs: [{ group, port, interface, ttl? }], waitForInterface? }`)
  .action(async (o: { file: string }) => {
    const change = readChangeFile(o.file);
    await call<ApplyResult>('apply', change, (r) => `applied: ${r.added.length} added, ${r.removed.length} removed`);
  });

program.command('list').description('list rules and their state (forwarding, waiting for an interface, joining)').action(() => call<{ rules: RuleWithState[] }>('list', {}, (r) => rulesTable(r.rules)));

program
  .command('stats')
  .description('packet counters per worker and per rule, IGMP state')
  .action(() =>
    call<{ workers: WorkerStats[]; rules: RuleWithStats[]; igmp: Record<string, number>; totals: Record<string, number>; dropped: Record<string, number> }>('stats', {}, (r) =>
      [
        'Workers',
        workersTable(r.workers),
        '',
        'Rules',
        r.rules.length === 0
          ? 'no rules'
          : renderTable(
              ['ID', 'INPUT', 'PACKETS', 'BYTES', 'OUTPUT', 'OUT PACKETS', 'OUT ERR'],
              r.rules.flatMap((rule) =>
                rule.outputs.map((o, i) => [
                  i === 0 ? rule.id : '',
                  i === 0 ? `${endpoint(rule.inputGroup, rule.inputPort)}:${rule.inputInterface}` : '',
                  i === 0 ? rule.packets : '',
                  i === 0 ? rule.bytes : '',
                  `${endpoint(o.group, o.port)}:${o.interface}`,
                  o.packets,
                  o.errors,
                ]),
              ),
            ),
        '',
        `Dropped: ${counterLine(WORKER_COUNTERS, 'dropped', r.totals)} ${Object.entries(r.dropped ?? {}).map(([why, n]) => `${why}=${n}`).join(' ')}`,
        `IPv6 reassembly: ${counterLine(WORKER_COUNTERS, 'reassembly', r.totals)}`,
        `IGMP: attempted=${r.igmp.attempted} succeeded=${r.igmp.succeeded} failed=${r.igmp.failed} active_groups=${r.igmp.activeGroups} helper_sockets=${r.igmp.sockets} leaves=${r.igmp.leaves} joining=${r.igmp.joining} leaving=${r.igmp.leaving}`,
      ].join('\n'),
    ),
  );

const workers = program
  .command('workers')
  .description(`worker processes (BUCKETS: the share of flows each takes in 'hash' mode, of ${STEERING_BUCKETS})`)
  .action(() => call<{ workers: WorkerInfo[] }>('workers', {}, (r) => workersTable(r.workers)));
workers
  .command('set <count>')
  .description("set an interface's worker count while traffic flows (answered once the new set forwards; in 'hash' mode nothing is lost or reordered)")
  .requiredOption('--interface <if>', 'input interface whose workers to add or stop')
  .action((count: string, o: { interface: string }) => {
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1) throw new Error(`worker count '${count}' is not a whole number of at least 1`);
    return call<{ interface: string; before: number; after: number; events: { member: string; moved: number; heldMs: number }[] }>('set-workers', { interface: o.interface, count: n }, (r) =>
      [`${r.interface}: ${r.before} -> ${r.after} workers`, ...r.events.map((e) => `  ${e.member}: ${e.moved} of ${STEERING_BUCKETS} buckets moved, readers held ${e.heldMs.toFixed(1)} ms`)].join('\n'),
    );
  });
program.command('ping').description('check that mcrd answers').action(() => call('ping', {}, () => 'pong'));
program.command('version').description("mcrd's version").action(() => call<{ version: string; pid: number }>('version', {}, (r) => `mcrd ${r.version} (pid ${r.pid})`));

program.parseAsync().catch((err: Error) => {
  console.error(`mcrctl: ${err.message}`);
  process.exit(1);
});
