// mcrd settings: defaults <- config file (JSON5) <- command-line flags.
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import JSON5 from 'json5';
import { EGRESS_MODES, FANOUT_MODES, INGRESS_MODES, type EgressMode, type FanoutMode, type IngressMode } from './native.js';
import type { LogFormat } from './log.js';
import { DEFAULT_SOCKET_PATH } from './protocol.js';
import { MAX_MEMBERS } from './steering.js';
import { isInterfaceName } from './rules.js';
import type { WorkerRange } from './autoscale.js';

export interface DaemonConfig {
  controlSocket: string;
  /** Workers per input interface: a count, or "MIN..MAX" for scaling by load (autoscale.ts). */
  workers: number | string;
  /** Scaling by load: CPU of a core that makes a worker busy (autoscale.ts UP_CPU). */
  scaleUpCpu: number;
  fanout: FanoutMode;
  ingress: IngressMode;
  egress: EgressMode;
  /** Receive ring per worker, MiB. */
  ringMiB: number;
  interfaces: string[];
  statsInterval: number;
  logFormat: LogFormat;
  /** Join input groups with IGMP (false: memberships are static upstream; --no-igmp). */
  igmp: boolean;
  /** Join retries after a failed IGMP join (backoff doubles from igmpRetryInterval ms). */
  igmpRetries: number;
  igmpRetryInterval: number;
  /** Keep a group joined this many ms after its last rule went, so quick remove/add cycles send nothing. */
  igmpLeaveDelay: number;
  /** Every acknowledged rule change is saved here and restored at start ('' = none). */
  stateFile: string;
  /** Workers run as this user with only CAP_NET_RAW ('root': as root, with every capability). */
  user: string;
  /** Group allowed to use the control socket (mode 0660); '' = owner only (0600). */
  controlGroup: string;
  /** HOST:PORT to serve Prometheus metrics on ('' = none; --metrics-listen). */
  metricsListen: string;
  /** Rules added at start-up, in the same shape as the control protocol's add. */
  rules: unknown[];
}

export const DEFAULTS: DaemonConfig = {
  controlSocket: DEFAULT_SOCKET_PATH,
  workers: 1,
  scaleUpCpu: 0.75,
  fanout: 'hash',
  ingress: 'ring',
  egress: 'frames',
  ringMiB: 64,
  interfaces: [],
  statsInterval: 10_000,
  logFormat: 'text',
  igmp: true,
  igmpRetries: 5,
  igmpRetryInterval: 1000,
  igmpLeaveDelay: 0,
  stateFile: '',
  user: 'nobody',
  controlGroup: '',
  metricsListen: '',
  rules: [],
};

const KEYS = Object.keys(DEFAULTS) as (keyof DaemonConfig)[];

export interface ListenAddress {
  host: string;
  port: number;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** "127.0.0.1:9108", "[::1]:9108" or "localhost:9108"; throws saying what is wrong. */
export function parseListenAddress(value: string): ListenAddress {
  const bad = (why: string) => new Error(`metrics listen address '${value}': ${why} (expected HOST:PORT, e.g. 127.0.0.1:9108 or [::1]:9108)`);
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) throw bad('not HOST:PORT');
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  const hostOk = m[1] !== undefined ? isIPv6(host) : /^[\d.]+$/.test(host) ? isIPv4(host) : HOSTNAME.test(host);
  if (!hostOk) throw bad(`bad host '${host}'`);
  // Port 0 would pick a random port, which no scrape config could name.
  if (port < 1 || port > 65535) throw bad('the port must be 1 to 65535');
  return { host, port };
}

/** A worker count N (MIN = MAX = N) or "MIN..MAX"; throws saying what is wrong. */
export function parseWorkerRange(value: unknown): WorkerRange {
  const text = String(value);
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(text);
  const min = Number(m?.[1]);
  const max = Number(m?.[2] ?? m?.[1]);
  if (!m || !Number.isInteger(min) || min < 1 || max > MAX_MEMBERS || min > max) {
    throw new Error(`workers must be a count from 1 to ${MAX_MEMBERS} (a fanout group's size), or MIN..MAX with MIN <= MAX to scale by load (got ${text})`);
  }
  return { min, max };
}

function check(config: DaemonConfig, where: string): DaemonConfig {
  const bad = (what: string) => new Error(`${where}: ${what}`);
  if (typeof config.controlSocket !== 'string' || config.controlSocket === '') throw bad('controlSocket must be a path');
  try {
    parseWorkerRange(config.workers);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (typeof config.scaleUpCpu !== 'number' || !(config.scaleUpCpu >= 0.05 && config.scaleUpCpu <= 1)) throw bad(`scale-up CPU must be a fraction of a core from 0.05 to 1 (got ${String(config.scaleUpCpu)})`);
  if (!FANOUT_MODES.includes(config.fanout)) throw bad(`fanout must be one of ${FANOUT_MODES.join(', ')} (got ${String(config.fanout)})`);
  if (!INGRESS_MODES.includes(config.ingress)) throw bad(`ingress must be one of ${INGRESS_MODES.join(', ')} (got ${String(config.ingress)})`);
  if (!EGRESS_MODES.includes(config.egress)) throw bad(`egress must be one of ${EGRESS_MODES.join(', ')} (got ${String(config.egress)})`);
  if (!Number.isInteger(config.ringMiB) || config.ringMiB < 1 || config.ringMiB > 4096) throw bad(`ring size must be 1 to 4096 MiB (got ${String(config.ringMiB)})`);
  if (!Array.isArray(config.interfaces) || !config.interfaces.every(isInterfaceName)) throw bad('interfaces must be a list of interface names (at most 15 bytes; no whitespace, /, :, , or control character)');
  if (!Number.isInteger(config.statsInterval) || config.statsInterval < 0) throw bad(`stats interval must be a whole number of ms, 0 to disable (got ${String(config.statsInterval)})`);
  if (config.logFormat !== 'text' && config.logFormat !== 'json') throw bad(`log format must be 'text' or 'json' (got ${String(config.logFormat)})`);
  if (typeof config.igmp !== 'boolean') throw bad(`igmp must be true or false (got ${String(config.igmp)})`);
  if (!Number.isInteger(config.igmpRetries) || config.igmpRetries < 0 || config.igmpRetries > 100) throw bad(`IGMP retries must be 0 to 100 (got ${String(config.igmpRetries)})`);
  if (!Number.isInteger(config.igmpRetryInterval) || config.igmpRetryInterval < 10) throw bad(`IGMP retry interval must be at least 10 ms (got ${String(config.igmpRetryInterval)})`);
  if (!Number.isInteger(config.igmpLeaveDelay) || config.igmpLeaveDelay < 0 || config.igmpLeaveDelay > 3_600_000) throw bad(`IGMP leave delay must be 0 to 3600000 ms (got ${String(config.igmpLeaveDelay)})`);
  if (typeof config.stateFile !== 'string') throw bad('stateFile must be a path');
  if (typeof config.user !== 'string' || config.user === '') throw bad('user must be a user name or uid');
  if (typeof config.controlGroup !== 'string') throw bad('controlGroup must be a group name or gid');
  if (typeof config.metricsListen !== 'string') throw bad('metricsListen must be HOST:PORT');
  if (config.metricsListen !== '') {
    try {
      parseListenAddress(config.metricsListen);
    } catch (err) {
      throw bad((err as Error).message);
    }
  }
  if (!Array.isArray(config.rules)) throw bad('rules must be a list');
  return config;
}

export function loadConfigFile(file: string): Partial<DaemonConfig> {
  let parsed: unknown;
  try {
    parsed = JSON5.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`config ${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`config ${file}: must be an object`);
  for (const key of Object.keys(parsed)) {
    if (!KEYS.includes(key as keyof DaemonConfig)) throw new Error(`config ${file}: unknown setting '${key}' (known: ${KEYS.join(', ')})`);
  }
  return parsed as Partial<DaemonConfig>;
}

export function resolveConfig(file: Partial<DaemonConfig>, flags: Partial<DaemonConfig>, where = 'settings'): DaemonConfig {
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return check({ ...DEFAULTS, ...file, ...defined }, where);
}
