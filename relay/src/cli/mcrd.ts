// mcrd: the relay supervisor. Runs in the foreground, logs to stderr.
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfigFile, parseListenAddress, parseWorkerRange, resolveConfig, type DaemonConfig } from '../config.js';
import { ControlServer } from '../control-server.js';
import { createLogger, type Logger } from '../log.js';
import { lockBeside } from '../instance-lock.js';
import { findSetpriv, lookupGroup, lookupUser, unreadableBy } from '../privileges.js';
import { workerScript } from '../workers.js';
import { MetricsServer } from '../metrics.js';
import { EGRESS_MODES, FANOUT_MODES, INGRESS_MODES, addonPath, loadAddon, type Addon, type FanoutMode } from '../native.js';
import { setStateFileWarnings } from '../state-file.js';
import { Supervisor, type SupervisorOptions } from '../supervisor.js';
import { VERSION } from '../version.js';

/** "COUNT[/MS]", e.g. 5/1000: retries and the first retry's wait. */
function retrySpec(value: string): { count: number; intervalMs?: number } {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('--igmp-retry must look like COUNT or COUNT/MS, e.g. 5/1000');
  return { count: Number(m[1]), ...(m[2] === undefined ? {} : { intervalMs: Number(m[2]) }) };
}

function integer(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(value);
  };
}

const program = new Command('mcrd')
  .description('MCR multicast relay daemon: receives IPv4 and IPv6 UDP multicast with AF_PACKET + PACKET_FANOUT and re-sends it per rule.')
  .version(VERSION)
  .option('-s, --control-socket <path>', 'Unix socket for mcrctl (default /run/mcrd.sock)')
  .option('-w, --workers <n|min..max>', "worker processes per ingress interface, or a range to scale by load (busy or dropping workers: one more; idle ones: one fewer; see docs/how-the-relay-works.md); 'mcrctl workers set' changes it at runtime (default 1)")
  .option('--scale-up-cpu <fraction>', 'with --workers MIN..MAX: the CPU of a core that makes a worker busy (one more after 2 s); one fewer when the rest would each stay under 7/15 of it (default 0.75)', parseFloat)
  .addOption(new Option('-f, --fanout <mode>', "PACKET_FANOUT mode: hash (each flow on one worker, steered by mcrd: workers come and go without loss or reordering), kernel-hash (the kernel's flow hash: a change of workers loses what the leaving one had not read), cpu, lb, rollover (packets, not flows, spread), none (every worker sees every packet: the duplication negative control) (default hash)").choices(FANOUT_MODES as string[]))
  .addOption(new Option('--ingress <path>', 'receive path: ring (TPACKET_V2 frames: a wake-up per packet at low rates, batches at high ones), blocks (TPACKET_V3, wakes per filled block or 1 ms), mmsg (recvmmsg) (default ring)').choices(INGRESS_MODES as string[]))
  .addOption(new Option('--egress <path>', 'send path: frames (Ethernet frames built by the relay on an AF_PACKET socket: no ARP/ND entry per output group; non-Ethernet outputs and datagrams bigger than the MTU still go by UDP) frames-direct (the same handed straight to the device, past the qdisc: tc shaping no longer applies), or udp (UDP sockets through the IP stack) (default frames)').choices(EGRESS_MODES as string[]))
  .option('--ring-size <mib>', 'receive ring per worker in MiB (default 64)', integer('--ring-size'))
  .option('-i, --interface <name...>', 'ingress interfaces to start workers on now (others start with their first rule)')
  .option('-c, --config <file>', 'JSON5 config file; flags override it')
  .option('--no-igmp', 'do not join input groups (where memberships are configured statically upstream); a switch that snoops IGMP then delivers nothing')
  .option('--igmp-retry <count[/ms]>', 'retry a failed IGMP join COUNT times, first after MS, doubling (default 5/1000); the rule shows as joining meanwhile', retrySpec)
  .option('--igmp-leave-delay <ms>', 'keep a group joined MS after its last rule is removed, so a quick remove/add sends no leave and no join (default 0)', integer('--igmp-leave-delay'))
  .option('-u, --user <user>', 'run workers as this user, keeping only CAP_NET_RAW; root keeps every capability (default nobody)')
  .option('--control-group <group>', 'let this group use the control socket (mode 0660); otherwise only its owner can (0600)')
  .option('--state-file <path>', 'save every acknowledged rule change here (atomically, before the ack) and restore it at start')
  .option('--metrics-listen <host:port>', 'serve Prometheus metrics (the counters of mcrctl stats) at http://HOST:PORT/metrics, e.g. 127.0.0.1:9108; plain HTTP without authentication: bind a loopback or management address')
  .option('--stats-interval <ms>', 'log [STATS:*] lines every ms, 0 = never (default 10000)', integer('--stats-interval'))
  .addOption(new Option('--log-format <format>', 'log line format (default text)').choices(['text', 'json']))
  .addOption(new Option('--log-level <level>', 'least important level logged').choices(['debug', 'info', 'warn', 'error']).default('info'))
  .addHelpText('after', `
Control it with mcrctl (same --socket). SIGTERM or SIGINT: stop workers, leave all groups, remove the socket, exit 0.
SIGHUP: re-read --config and apply its rules' difference as one change (other settings need a restart).
Interfaces are followed through rtnetlink: when an input interface vanishes its workers stop and its
rules wait ('mcrctl list'); when it is back (even re-created) workers restart and groups are re-joined.
Config file example (JSON5):
  { workers: 2, fanout: 'hash', interfaces: ['eth0'],
    rules: [{ name: 'cam1', inputInterface: 'eth0', inputGroup: '239.1.1.1', inputPort: 5000,
              outputs: [{ group: '239.2.2.2', port: 5000, interface: 'eth1', ttl: 8 }] }] }`);

function configFrom(opts: Record<string, any>): DaemonConfig {
  const flags: Partial<DaemonConfig> = {
    controlSocket: opts.controlSocket,
    workers: opts.workers,
    scaleUpCpu: opts.scaleUpCpu,
    fanout: opts.fanout as FanoutMode | undefined,
    ingress: opts.ingress,
    egress: opts.egress,
    ringMiB: opts.ringSize,
    interfaces: opts.interface,
    statsInterval: opts.statsInterval,
    logFormat: opts.logFormat,
    // commander defaults igmp to true: only an explicit --no-igmp may override the config file.
    igmp: opts.igmp === false ? false : undefined,
    igmpRetries: opts.igmpRetry?.count,
    igmpRetryInterval: opts.igmpRetry?.intervalMs,
    igmpLeaveDelay: opts.igmpLeaveDelay,
    stateFile: opts.stateFile,
    user: opts.user,
    controlGroup: opts.controlGroup,
    metricsListen: opts.metricsListen,
  };
  return resolveConfig(opts.config ? loadConfigFile(opts.config) : {}, flags, opts.config ?? 'flags');
}

/** How workers are launched: as config.user with CAP_NET_RAW only, unless that user is root. Throws what stands in the way. */
function workerLauncher(config: DaemonConfig, log: Logger): SupervisorOptions['runAs'] {
  const who = lookupUser(config.user);
  if (who.uid === 0) {
    log.warn(`workers run as ${who.user} with every capability (--user root); the default, nobody, keeps only CAP_NET_RAW`);
    return undefined;
  }
  if (process.getuid?.() !== 0) throw new Error(`--user ${config.user}: switching the workers' user needs mcrd to run as root`);
  for (const file of [workerScript, addonPath]) {
    const why = unreadableBy(file, who);
    if (why) throw new Error(`workers run as ${who.user} (--user), who cannot load ${file}: ${why}. Install MCR where that user can read it (e.g. /opt/mcr), or choose another --user`);
  }
  log.info(`workers run as ${who.user} (uid ${who.uid}) with CAP_NET_RAW only`);
  return { who, setpriv: findSetpriv() };
}

function reloadOnHangup(configFile: string | undefined, supervisor: Supervisor, log: Logger): void {
  process.on('SIGHUP', () => {
    if (!configFile) {
      log.warn('SIGHUP: no --config to re-read');
      return;
    }
    let rules: unknown[];
    try {
      rules = resolveConfig(loadConfigFile(configFile), {}, configFile).rules;
    } catch (err) {
      log.error(`SIGHUP: config not reloaded, nothing changed: ${(err as Error).message}`);
      return;
    }
    supervisor.reloadConfig(rules).catch((err: Error) => log.error(`SIGHUP: config not reloaded, nothing changed: ${err.message}`));
  });
}

/** The supervisor's settings from the daemon's configuration. */
function supervisorOptions(config: DaemonConfig, runAs: SupervisorOptions['runAs'], log: Logger, addon: Addon): SupervisorOptions {
  const workerRange = parseWorkerRange(config.workers);
  return {
    workers: workerRange.min,
    ...(workerRange.max > workerRange.min ? { autoscale: { ...workerRange, upCpu: config.scaleUpCpu } } : {}),
    fanout: config.fanout,
    ingress: config.ingress,
    egress: config.egress,
    ringMiB: config.ringMiB,
    interfaces: config.interfaces,
    joinGroups: config.igmp,
    igmpPolicy: { retries: config.igmpRetries, retryIntervalMs: config.igmpRetryInterval, leaveDelayMs: config.igmpLeaveDelay },
    stateFile: config.stateFile || undefined,
    runAs,
    log,
    igmp: addon,
    interfaceIndex: (name) => addon.interfaceIndex(name),
  };
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts();
  let config: DaemonConfig;
  try {
    config = configFrom(opts);
  } catch (err) {
    console.error(`mcrd: ${(err as Error).message}`);
    process.exit(2);
  }
  const log = createLogger(config.logFormat, opts.logLevel);
  // Before anything is touched: a second mcrd on the same socket or state file leaves both alone.
  try {
    await lockBeside(config.controlSocket, 'control socket');
    if (config.stateFile) await lockBeside(config.stateFile, 'state file');
  } catch (err) {
    console.error(`mcrd: ${(err as Error).message}`);
    process.exit(1);
  }
  setStateFileWarnings(log);
  const addon = loadAddon();
  let runAs: SupervisorOptions['runAs'];
  let controlGid: number | undefined;
  try {
    runAs = workerLauncher(config, log);
    controlGid = config.controlGroup ? lookupGroup(config.controlGroup) : undefined;
  } catch (err) {
    console.error(`mcrd: ${(err as Error).message}`);
    process.exit(2);
  }
  const supervisor = new Supervisor(supervisorOptions(config, runAs, log, addon));
  const links = new addon.LinkWatcher((event) => {
    log.debug('link event', event);
    supervisor.linksChanged();
  });
  const metrics = config.metricsListen ? new MetricsServer(parseListenAddress(config.metricsListen), () => supervisor.stats(), log) : undefined;
  const server = new ControlServer(config.controlSocket, (cmd, args, peer) => supervisor.handle(cmd, args, peer), log, { gid: controlGid, peerOf: (fd) => addon.peerCredentials(fd) });

  let stopping = false;
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info(`stopping (${why})`);
    clearInterval(statsTimer);
    links.stop();
    await metrics?.close().catch(() => undefined);
    await server.close().catch(() => undefined);
    await supervisor.stop();
    log.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));
  reloadOnHangup(opts.config, supervisor, log);

  log.info(`mcrd ${VERSION} starting`, { pid: process.pid, workers: config.workers, fanout: config.fanout, ingress: config.ingress, egress: config.egress, igmp: config.igmp });
  if (!config.igmp) log.warn('IGMP disabled (--no-igmp): input groups are not joined; traffic arrives only where memberships are static upstream');
  let statsTimer: NodeJS.Timeout | undefined;
  try {
    // The socket opens once the state is restored: no client ever sees a half-started table.
    await server.ensureFree();
    await metrics?.listen(); // before any worker starts or group is joined: a bad address costs nothing
    await supervisor.start(config.rules);
    await server.listen();
  } catch (err) {
    log.error((err as Error).message);
    await stop('start-up failed', 1);
    return;
  }
  if (config.statsInterval > 0) {
    statsTimer = setInterval(() => {
      supervisor.igmp.logStats();
      void supervisor.stats().then(({ totals }) => {
        log.info(`[STATS:WORKERS] ${Object.entries(totals).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      });
    }, config.statsInterval);
  }
  log.info('ready');
}

main().catch((err) => {
  console.error(`mcrd: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
