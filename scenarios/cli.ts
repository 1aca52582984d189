// npm run scenario <name> -- [N] [options]
import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { CONTENDER_NAMES, type ContenderName } from '../harness/src/contenders/types.js';
import { describeCheck, gatedTally, verdictOf } from '../harness/src/checks.js';
import { parseCpuLimit } from '../harness/src/cpu-limit.js';
import { writeGateFiles } from '../harness/src/export/gate-files.js';
import { DEFAULT_GATE_FILE, gateRun, loadGateFile } from '../harness/src/gate.js';
import { TOPOLOGIES, type Family, type Topology } from '../netns/topology.js';
import { terminalSummary } from '../harness/src/report/markdown.js';
import { renderReport } from '../harness/src/report/render.js';
import { EGRESS_MODES, FANOUT_MODES, INGRESS_MODES, type EgressMode, type IngressMode } from '../relay/src/api.js';
import { SCENARIOS } from './registry.js';
import { PreflightError, runScenario } from './run.js';
import { positiveInt, usageErrors } from '../harness/src/cli/args.js';
import type { ScenarioOptions } from './scenario.js';
import { parseCpuPlacement, type CpuPlacement } from '../harness/src/placement.js';

/** Exit statuses: 0 ran and every check passed, 1 ran and a check failed, 2 could not run. */
const EXIT_FAILED_CHECKS = 1;
const EXIT_CANNOT_RUN = 2;

function sizeList(value: string): number[] {
  const sizes = value.split(',').map((s) => s.trim());
  for (const s of sizes) if (!/^\d+$/.test(s) || Number(s) < 40 || Number(s) > 65507) throw new InvalidArgumentError(`payload size '${s}' must be a whole number of bytes from 40 to 65507 (the MCR header is 40 bytes; 1472 fills a 1500-byte MTU, 8972 a 9000-byte one; beyond the MTU datagrams travel as IP fragments)`);
  return [...new Set(sizes.map(Number))];
}

/** "60", "60s", "11m", "1h" -> seconds. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError(`--duration '${value}' must look like 90, 60s, 11m or 1h`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

function contenderList(value: string): ContenderName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!CONTENDER_NAMES.includes(n as ContenderName)) throw new InvalidArgumentError(`unknown contender '${n}' (known: ${CONTENDER_NAMES.join(', ')})`);
  if (names.length === 0) throw new InvalidArgumentError('no contenders given');
  return names as ContenderName[];
}

const program = new Command('scenario')
  // Usage errors mean the run could not start: exit 2, like a failed preflight.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CANNOT_RUN))
  .showHelpAfterError('(run with --help for usage)')
  .description('Run a relay scenario side by side with socat and kernel multicast routing; writes results/<run-id>/.')
  .argument('<name>', `scenario: ${Object.keys(SCENARIOS).join(', ')}`)
  .argument('[N]', `size: ${Object.values(SCENARIOS).map((s) => `${s.name}: ${s.argName} (default ${s.defaultSize}, at most ${s.maxSize})`).join('; ')}`)
  .option('--rate <pps>', 'packets per second per stream', positiveInt('--rate'), 1000)
  .option('--aggregate-rate <pps>', 'multi-stream: packets per second over all of a step\'s streams instead of --rate, and --count is then the step\'s total (one load at every step: cost per packet against the number of groups)', positiveInt('--aggregate-rate'))
  .option('--steps <list>', 'multi-stream: only these stream counts, e.g. 10,1000,10000 (each at most N)', (v) => v.split(',').map((x) => positiveInt('--steps')(x)))
  .option('--count <n>', 'measured packets per stream (after warm-up)', positiveInt('--count'), 2000)
  .option('--size <bytes>', 'UDP payload bytes, 40 to 65507 (1472 fills a 1500-byte MTU; larger ones travel as IP fragments); throughput takes a list, e.g. 64,512,1024,1472', sizeList, [512])
  .option('--warmup <n>', 'warm-up packets per stream, excluded from the counts', positiveInt('--warmup', 0), 50)
  .option('--workers <n>', 'relay workers (multi-stream)', positiveInt('--workers'), 2)
  .addOption(new Option('--fanout <mode>', 'relay fanout mode (multi-stream)').choices(FANOUT_MODES as string[]).default('hash'))
  .addOption(new Option('--ingress <path>', 'relay receive path: ring (TPACKET_V2 frames), blocks (TPACKET_V3) or mmsg (recvmmsg)').choices(INGRESS_MODES as string[]).default('ring'))
  .addOption(new Option('--egress <path>', "relay send path: frames (built by the relay on an AF_PACKET socket), frames-direct (the same past the qdisc) or udp (UDP sockets through the IP stack)").choices(EGRESS_MODES as string[]).default('frames'))
  .option('--streams <n>', 'streams (multi-worker)', positiveInt('--streams'), 4)
  .option('--contenders <list>', 'comma-separated: relay,socat,kernel', contenderList, [...CONTENDER_NAMES])
  .option('--repetitions <n>', 'repeat each step; reports quote the median', positiveInt('--repetitions'), 1)
  .option('--max-loss <pct>', 'relay loss % above which the scenario check fails', parseFloat, 0.1)
  .addOption(new Option('--family <4|6>', 'IP version of the streams: 4 (239.x groups, IGMP) or 6 (ff15:: groups, MLD)').choices(['4', '6']).default('4'))
  .addOption(new Option('--topology <kind>', "segment in front of the contenders: 'snooping' (a bridge that forwards a group only while it is joined) or 'plain' veth (every frame arrives)").choices(TOPOLOGIES as string[]).default('snooping'))
  .option('--bridge', 'put the relay-side veth ends into Linux bridges')
  .option('--ttl <n>', 'IP TTL the generator sends with (default 8): the relay and the kernel send one less, socat its own', positiveInt('--ttl'))
  .option('--tos <n>', 'IP TOS byte the generator sends with, DSCP << 2 | ECN (default 0), e.g. 185 = EF with ECT(1)', positiveInt('--tos', 0))
  .option('--mtu <bytes>', 'MTU of every link of the topology (e.g. 9000 for a jumbo path; default 1500)', positiveInt('--mtu', 576))
  .option('--threads <n>', 'generator sender threads (streams are split over them)', positiveInt('--threads'), 1)
  .option('--require <list>', 'contenders that must run in every step for the gate to pass (default: relay; in CI: all of --contenders)', contenderList)
  .option('--duration <time>', 'soak: how long to send, e.g. 60s, 11m (default 60s)', duration)
  .option('--trial-seconds <s>', 'throughput: measured seconds per search trial', parseFloat, 2)
  .option('--resolution <fraction>', 'throughput: stop the search when the bounds are this close (fraction of the upper bound)', parseFloat, 0.02)
  .option('--egress-limit <rate>', "impairment: rate-limit the relay namespace's output link with tc tbf (e.g. 2mbit), to prove the loss gate fails")
  .option('--no-igmp', 'impairment: run mcrd --no-igmp; on the snooping topology nothing arrives, to prove the IGMP gate fails')
  .option('--relay-cpu-limit <share>', "impairment: limit mcrd and its workers to this CPU share through a cgroup (e.g. 1%), to prove the performance gate fails", usageErrors((v) => parseCpuLimit(v)))
  .option('--inject-duplicates <repetition>', 'impairment: the generator duplicates every 100th packet in this repetition only, to prove the duplication gate holds in every repetition', positiveInt('--inject-duplicates'))
  .option('--cross-wire', "impairment: the relay's rule for stream 1 sends to stream 2's group (2+ streams), to prove the misdelivery gate fails")
  .option('--relay-slow-send <us>', 'impairment: mcrd and its workers spend this many µs of CPU more per datagram they send (a preloaded shim, harness/impairments/slow-send.c), to prove the CPU-per-packet gate fails', positiveInt('--relay-slow-send'))
  .option('--cpus <placement>', 'cores for the contender (mcrd and its workers, socat, smcrouted), the generator and the sink, e.g. contender=1,generator=0,sink=0 or contender=2-3,generator=0,sink=1 (taskset; recorded per run as /proc shows it)', usageErrors((v) => parseCpuPlacement(v)))
  .option('--gate [file]', `also check for regression against results/baselines/<scenario>.json and write junit.xml, gate.json, benchmark*.json (gate file default ${path.relative(process.cwd(), DEFAULT_GATE_FILE)})`)
  .option('--json', 'print result.json on stdout (progress stays on stderr)')
  .option('--quiet', 'no progress output')
  .addHelpText(
    'after',
    `
Examples:
  npm run scenario multi-stream -- 10
  npm run scenario multi-stream -- 200 --contenders relay
  npm run scenario multi-stream -- 10000 --steps 10,10000 --aggregate-rate 100000 --count 500000 --contenders relay
  npm run scenario multi-stream -- 2 --family 6             # IPv6: ff15:: groups, MLD joins
  npm run scenario multi-worker -- 2 --streams 8
  npm run scenario throughput -- 4 --threads 2 --repetitions 3
  npm run scenario multi-stream -- 2 --no-igmp --gate     # negative control: must fail, naming IGMP
  npm run scenario faults                                 # worker kill, restart, link flap/re-creation, rule churn
  npm run scenario replication -- 16                      # 1 input to K = 1..16 copies (groups; links): every copy counted, NDR and CPU per copy
  npm run scenario capacity -- 10000                      # most groups with no loss at 10/s each (--rate), relay vs socat vs kernel
  npm run scenario soak -- --duration 11m --rate 150000   # 100,000,000 packets; RSS, fds, CPU, loss over time
Exit status: 0 checks passed, 1 a check failed, 2 could not run.`,
  )
  .action(async (name: string, size: string | undefined, o: Record<string, unknown>, cmd: Command) => {
    const scenario = SCENARIOS[name];
    if (!scenario) {
      console.error(`unknown scenario '${name}' (known: ${Object.keys(SCENARIOS).join(', ')})`);
      process.exit(EXIT_CANNOT_RUN);
    }
    const n = size === undefined ? scenario.defaultSize : positiveInt(scenario.argName)(size);
    if (n > scenario.maxSize) throw new InvalidArgumentError(`${scenario.name}: at most ${scenario.maxSize} ${scenario.argName}`);
    if ((o.size as number[]).length > 1 && !scenario.sweepsSizes) throw new InvalidArgumentError(`${scenario.name} runs one payload size; only throughput sweeps a list of --size values`);
    if (o.duration !== undefined && !scenario.runsForDuration) throw new InvalidArgumentError(`${scenario.name} does not run for a time: --duration applies to soak (use --count for packets per stream)`);
    for (const [key, why] of Object.entries(scenario.ignores ?? {})) {
      const flag = cmd.options.find((opt) => opt.attributeName() === key)?.long;
      if (cmd.getOptionValueSource(key) === 'cli') throw new InvalidArgumentError(`${scenario.name} does not use ${flag ?? key}: ${why}`);
    }
    const family = Number(o.family) as Family;
    const resolution = o.resolution as number;
    if (!(resolution > 0 && resolution < 1)) throw new InvalidArgumentError('--resolution must be a fraction between 0 and 1 (e.g. 0.02)');
    if (!((o.trialSeconds as number) > 0)) throw new InvalidArgumentError('--trial-seconds must be > 0');
    const contenders = o.contenders as ContenderName[];
    const required = (o.require as ContenderName[] | undefined) ?? (process.env.CI ? contenders : contenders.filter((c) => c === 'relay'));
    const notRun = required.filter((c) => !contenders.includes(c));
    if (notRun.length) throw new InvalidArgumentError(`--require names ${notRun.join(', ')}, which --contenders leaves out`);
    const options: ScenarioOptions = {
      ratePps: cmd.getOptionValueSource('rate') === 'cli' ? (o.rate as number) : (scenario.defaultRatePps ?? (o.rate as number)),
      ...(o.aggregateRate === undefined ? {} : { aggregateRatePps: o.aggregateRate as number }),
      ...(o.steps === undefined ? {} : { steps: o.steps as number[] }),
      count: o.count as number,
      size: (o.size as number[])[0],
      sizes: o.size as number[],
      workers: o.workers as number,
      fanout: o.fanout as string,
      ingress: o.ingress as IngressMode,
      egress: o.egress as EgressMode,
      streams: o.streams as number,
      contenders,
      require: required,
      repetitions: o.repetitions as number,
      maxLossPct: o.maxLoss as number,
      warmup: o.warmup as number,
      bridge: Boolean(o.bridge),
      ...(o.mtu === undefined ? {} : { mtu: o.mtu as number }),
      ...(o.ttl === undefined ? {} : { ttl: o.ttl as number }),
      ...(o.tos === undefined ? {} : { tos: o.tos as number }),
      topology: o.topology as Topology,
      family,
      threads: o.threads as number,
      trialSeconds: o.trialSeconds as number,
      resolution,
      ...(o.duration === undefined ? {} : { durationSeconds: o.duration as number }),
      ...(o.cpus ? { cpus: o.cpus as CpuPlacement } : {}),
      impairments: {
        ...(o.egressLimit ? { egressLimit: String(o.egressLimit) } : {}),
        ...(o.igmp === false ? { noIgmp: true } : {}),
        ...(o.relayCpuLimit ? { relayCpuLimit: o.relayCpuLimit as number } : {}),
        ...(o.injectDuplicates ? { duplicatesInRepetition: o.injectDuplicates as number } : {}),
        ...(o.crossWire ? { crossWire: true } : {}),
        ...(o.relaySlowSend ? { relaySlowSendUs: o.relaySlowSend as number } : {}),
      },
    };
    const command = `npm run scenario ${name} -- ${process.argv.slice(3).join(' ')}`.trim();
    try {
      const { result, dir } = await runScenario(scenario, n, options, command, Boolean(o.quiet));
      let verdict = result.verdict;
      if (o.gate) {
        const { checks, baseline } = gateRun(result, loadGateFile(typeof o.gate === 'string' ? o.gate : undefined));
        writeGateFiles(dir, result, checks, baseline?.runId ?? null);
        for (const c of checks.filter((x) => !x.pass || x.advisory)) console.error(describeCheck(c));
        verdict = verdictOf(checks);
        const { passed, total } = gatedTally(checks);
        console.error(`gate: ${verdict.toUpperCase()} (${passed}/${total} checks${baseline ? `, baseline ${baseline.runId}` : ', no baseline'})`);
      }
      await renderReport(dir, result).catch((err: Error) => console.error(`report: ${err.message}`));
      const { passed, total } = gatedTally(result.checks);
      const out = o.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `${terminalSummary(result)}\n\n${result.verdict.toUpperCase()}: ${passed}/${total} checks passed (topology ${result.topology})\nresults: ${path.relative(process.cwd(), dir)}/ (result.json, report.md, report.html)\n`;
      // Exit once stdout has taken everything: a pipe's reader would otherwise get only its first
      // 64 KiB of a large result (process.exit does not wait for a pipe's pending writes).
      const code = verdict === 'pass' ? 0 : EXIT_FAILED_CHECKS;
      process.stdout.write(out, () => process.exit(code));
    } catch (err) {
      console.error(err instanceof PreflightError ? err.message : `scenario failed: ${(err as Error).stack ?? err}`);
      process.exit(EXIT_CANNOT_RUN);
    }
  });

program.parseAsync().catch((err: Error) => {
  console.error(err.message);
  process.exit(EXIT_CANNOT_RUN);
});
