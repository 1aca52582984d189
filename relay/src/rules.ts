// Rule model and validation: everything a control request can get wrong is caught here,
// before any state changes. Groups and sources are IPv4 or IPv6 (an input's family and its
// outputs' may differ: the relay re-sends the UDP payload).
import net from 'node:net';

export interface Output {
  group: string;
  port: number;
  interface: string;
  /** The most this output sends with: min(ttl, input TTL - 1) (loop-safe), or exactly ttl when fixedTtl. */
  ttl: number;
  /** Send with ttl whatever the input's TTL (sources that send TTL 1; no loop safety). */
  fixedTtl?: boolean;
  /** Rewrite the DSCP bits (0-63) instead of keeping the input's. */
  dscp?: number;
}

export interface RuleSpec {
  name?: string;
  inputInterface: string;
  inputGroup: string;
  inputPort: number;
  /** Only datagrams from this source (source-specific multicast, joined with IGMPv3 INCLUDE). */
  inputSource?: string;
  outputs: Output[];
  /** Accept interfaces that do not exist (yet): the rule waits for them instead of being refused. */
  waitForInterface?: boolean;
}

export interface Rule extends RuleSpec {
  id: string;
  /** 'config': added from --config, so a reload (SIGHUP) may change or remove it. */
  origin?: 'config';
}

export const DEFAULT_TTL = 8;
const IFNAME_MAX = 15;

export class ValidationError extends Error {}

function fail(message: string): never {
  throw new ValidationError(message);
}

/** Dotted-quad IPv4 address to a number, or undefined when it is not one. */
export function ipv4ToNumber(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** 4 for a dotted quad, 6 for an IPv6 address, else undefined. */
export function addressFamily(text: string): 4 | 6 | undefined {
  if (ipv4ToNumber(text) !== undefined) return 4;
  return net.isIPv6(text) ? 6 : undefined;
}

/** One spelling per address (IPv4 without leading zeros, IPv6 compressed lowercase), so duplicates are caught. */
function normalise(text: string): string {
  return addressFamily(text) === 6 ? new net.SocketAddress({ address: text, family: 'ipv6' }).address : text.split('.').map(Number).join('.');
}

/** 224.0.0.0/4 or ff00::/8. */
export function isMulticast(text: string): boolean {
  const family = addressFamily(text);
  if (family === 6) return normalise(text).startsWith('ff');
  const value = ipv4ToNumber(text);
  return value !== undefined && value >= 0xe0000000 && value <= 0xefffffff;
}

/** group:port, with an IPv6 group in brackets as in URLs: [ff15::8]:5000. */
export function endpoint(group: string, port: number | string): string {
  return addressFamily(group) === 6 ? `[${group}]:${port}` : `${group}:${port}`;
}

function checkGroup(value: unknown, what: string): string {
  if (typeof value !== 'string' || addressFamily(value) === undefined) fail(`${what}: '${String(value)}' is not an IPv4 or IPv6 address`);
  if (!isMulticast(value)) fail(`${what}: ${value} is not a multicast group (224.0.0.0/4 or ff00::/8)`);
  return normalise(value);
}

/** A unicast source address, of the group's family, for a source-specific rule. */
function checkSource(value: unknown, group: string): string {
  const family = typeof value === 'string' ? addressFamily(value) : undefined;
  if (family === undefined) fail(`input source: '${String(value)}' is not an IPv4 or IPv6 address`);
  const source = normalise(value as string);
  if (source === '0.0.0.0' || source === '::' || isMulticast(source)) fail(`input source: ${String(value)} is not a unicast address`);
  if (family !== addressFamily(group)) fail(`input source ${source} is IPv${family} but the group ${group} is not`);
  return source;
}

function checkPort(value: unknown, what: string): number {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`${what}: port '${String(value)}' out of range (1-65535)`);
  }
  return port;
}

/** C0, DEL and C1 controls: in a name they would reach logs and terminals (escape sequences). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A refused value as an error shows it: controls as \uXXXX, so none reaches a terminal. */
const shown = (value: unknown) => String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Whether value can name an interface: IFNAMSIZ counts bytes; the kernel takes any other byte but '/', ':' and whitespace (',' separates outputs). */
export const isInterfaceName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && Buffer.byteLength(value) <= IFNAME_MAX && !/[\s/:,]/.test(value) && !CONTROL.test(value);

function checkInterface(value: unknown, what: string, interfaceExists: (name: string) => boolean): string {
  if (!isInterfaceName(value)) fail(`${what}: '${shown(value)}' is not a valid interface name`);
  if (!interfaceExists(value)) fail(`${what}: unknown interface '${value}' (waitForInterface: true, or mcrctl add --wait-for-interface, accepts it and waits)`);
  return value;
}

function checkTtl(value: unknown, what: string): number {
  if (value === undefined) return DEFAULT_TTL;
  const ttl = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 255) fail(`${what}: ttl '${String(value)}' out of range (1-255)`);
  return ttl;
}

/**
 * Parses "G:P:IF[:TTL|:=TTL]" as typed on the mcrctl command line ("=TTL": fixed, not
 * decremented); an IPv6 group goes in brackets: [ff15::8]:6003:eth1.
 */
export function parseOutputSpec(spec: string): { group: string; port: string; interface: string; ttl?: string; fixedTtl?: boolean } {
  const text = spec.trim();
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  const parts = bracketed ? [bracketed[1], ...bracketed[2].split(':')] : text.split(':');
  if (parts.length < 3 || parts.length > 4 || parts.some((p) => p === '')) {
    fail(`output '${spec}' must look like GROUP:PORT:INTERFACE[:TTL] or ...:=TTL (fixed), e.g. 239.2.2.2:5001:eth1:16 or [ff15::8]:6003:eth1`);
  }
  const [group, port, iface, ttl] = parts;
  const fixed = ttl?.startsWith('=') ?? false;
  return { group, port, interface: iface, ...(ttl === undefined ? {} : { ttl: fixed ? ttl.slice(1) : ttl }), ...(fixed ? { fixedTtl: true } : {}) };
}

function checkDscp(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 63) fail(`${what}: dscp '${String(value)}' out of range (0-63)`);
  return value;
}

/**
 * Validates an untrusted rule specification (from JSON) and returns a normalised copy.
 * Checks only the rule itself; conflicts with other rules are the table's business.
 */
export function validateRuleSpec(input: unknown, interfaceExists: (name: string) => boolean): RuleSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('rule must be an object');
  const raw = input as Record<string, unknown>;
  const known = new Set(['name', 'inputInterface', 'inputGroup', 'inputPort', 'inputSource', 'outputs', 'waitForInterface']);
  for (const key of Object.keys(raw)) if (!known.has(key)) fail(`unknown rule field '${key}'`);
  if (raw.waitForInterface !== undefined && typeof raw.waitForInterface !== 'boolean') fail('waitForInterface must be true or false');
  const waitForInterface = raw.waitForInterface === true;
  const exists = waitForInterface ? () => true : interfaceExists;

  let name: string | undefined;
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(raw.name)) {
      fail(`name '${shown(raw.name)}' must be 1-64 characters of letters, digits, '_', '.', '-'`);
    }
    name = raw.name;
  }
  const inputInterface = checkInterface(raw.inputInterface, 'input interface', exists);
  const inputGroup = checkGroup(raw.inputGroup, 'input group');
  const inputPort = checkPort(raw.inputPort, 'input port');
  const inputSource = raw.inputSource === undefined ? undefined : checkSource(raw.inputSource, inputGroup);

  if (!Array.isArray(raw.outputs) || raw.outputs.length === 0) fail('rule has no outputs');
  const seen = new Set<string>();
  const outputs = raw.outputs.map((o: unknown, i: number): Output => {
    const what = `output ${i + 1}`;
    if (typeof o !== 'object' || o === null) fail(`${what} must be an object`);
    const out = o as Record<string, unknown>;
    for (const key of Object.keys(out)) if (!['group', 'port', 'interface', 'ttl', 'fixedTtl', 'dscp'].includes(key)) fail(`${what}: unknown field '${key}'`);
    if (out.fixedTtl !== undefined && typeof out.fixedTtl !== 'boolean') fail(`${what}: fixedTtl must be true or false`);
    const dscp = checkDscp(out.dscp, what);
    const output: Output = {
      group: checkGroup(out.group, `${what} group`),
      port: checkPort(out.port, `${what}`),
      interface: checkInterface(out.interface, `${what} interface`, exists),
      ttl: checkTtl(out.ttl, what),
      ...(out.fixedTtl === true ? { fixedTtl: true } : {}),
      ...(dscp === undefined ? {} : { dscp }),
    };
    if (output.interface === inputInterface && output.group === inputGroup && output.port === inputPort) {
      fail(`${what} ${endpoint(output.group, output.port)}:${output.interface} loops back to the input`);
    }
    const key = `${endpoint(output.group, output.port)}:${output.interface}`;
    if (seen.has(key)) fail(`${what} ${key} is listed twice`);
    seen.add(key);
    return output;
  });
  return { ...(name === undefined ? {} : { name }), inputInterface, inputGroup, inputPort, ...(inputSource ? { inputSource } : {}), outputs, ...(waitForInterface ? { waitForInterface } : {}) };
}

type Input = Pick<RuleSpec, 'inputInterface' | 'inputGroup' | 'inputPort' | 'inputSource'>;

/** What a rule matches: a source-specific rule and an any-source one for the same group may coexist. */
export function inputKey(rule: Input): string {
  return `${rule.inputInterface}|${rule.inputGroup}|${rule.inputPort}|${rule.inputSource ?? '*'}`;
}

export function describeInput(rule: Input): string {
  return `${endpoint(rule.inputGroup, rule.inputPort)}${rule.inputSource ? ` from ${rule.inputSource}` : ''} on ${rule.inputInterface}`;
}

/** Per input interface, what turns table `before` into `after` (rules are immutable: compared by identity). */
export function diffTables(before: RuleTable, after: RuleTable): Map<string, { upsert: Rule[]; remove: string[] }> {
  const diff = new Map<string, { upsert: Rule[]; remove: string[] }>();
  const at = (iface: string) => {
    let d = diff.get(iface);
    if (!d) diff.set(iface, (d = { upsert: [], remove: [] }));
    return d;
  };
  for (const rule of before.list()) {
    const now = after.get(rule.id);
    if (now === rule) continue;
    if (!now || now.inputInterface !== rule.inputInterface) at(rule.inputInterface).remove.push(rule.id);
  }
  for (const rule of after.list()) if (before.get(rule.id) !== rule) at(rule.inputInterface).upsert.push(rule);
  return diff;
}

/** What makes a config-file rule "the same rule" across reloads: its name, else its input. */
export function configIdentity(rule: RuleSpec): string {
  return rule.name !== undefined ? `name:${rule.name}` : `input:${inputKey(rule)}`;
}

/** Whether two specs forward the same way (ids and origin aside). */
export function sameSpec(a: RuleSpec, b: RuleSpec): boolean {
  const plain = (r: RuleSpec) => JSON.stringify([r.name, r.inputInterface, r.inputGroup, r.inputPort, r.inputSource ?? null, r.outputs, r.waitForInterface === true]);
  return plain(a) === plain(b);
}

/** The authoritative rule table: ids, names and input keys are unique (indexed, so checks stay O(1)). */
export class RuleTable {
  private readonly rules = new Map<string, Rule>();
  private readonly byInput = new Map<string, Rule>();
  private readonly byName = new Map<string, Rule>();
  private nextId = 1;

  /** A copy to change tentatively; the original is untouched until the copy replaces it. */
  clone(): RuleTable {
    const copy = new RuleTable();
    for (const rule of this.rules.values()) copy.commit(rule);
    copy.nextId = this.nextId;
    return copy;
  }

  get size(): number {
    return this.rules.size;
  }

  list(): Rule[] {
    return [...this.rules.values()];
  }

  get(id: string): Rule | undefined {
    return this.rules.get(id);
  }

  forInterface(name: string): Rule[] {
    return this.list().filter((r) => r.inputInterface === name);
  }

  /** Throws if the spec conflicts with an existing rule; returns the rule it would become. */
  prepare(spec: RuleSpec): Rule {
    const clash = this.byInput.get(inputKey(spec));
    if (clash) fail(`duplicate rule: ${describeInput(spec)} is already handled by rule ${clash.id}${clash.name ? ` (${clash.name})` : ''}`);
    const named = spec.name === undefined ? undefined : this.byName.get(spec.name);
    if (named) fail(`duplicate rule name '${spec.name}' (rule ${named.id})`);
    return { id: String(this.nextId), ...spec };
  }

  commit(rule: Rule): void {
    this.rules.set(rule.id, rule);
    this.byInput.set(inputKey(rule), rule);
    if (rule.name !== undefined) this.byName.set(rule.name, rule);
    this.nextId = Math.max(this.nextId, Number(rule.id) + 1);
  }

  find(selector: { id?: unknown; name?: unknown }): Rule {
    if (selector.id !== undefined) {
      const rule = this.rules.get(String(selector.id));
      if (!rule) fail(`no rule with id '${shown(selector.id)}'`);
      return rule;
    }
    if (selector.name !== undefined) {
      const rule = typeof selector.name === 'string' ? this.byName.get(selector.name) : undefined;
      if (!rule) fail(`no rule named '${shown(selector.name)}'`);
      return rule;
    }
    fail('remove needs an id or a name');
  }

  delete(id: string): void {
    const rule = this.rules.get(id);
    if (!rule) return;
    this.rules.delete(id);
    this.byInput.delete(inputKey(rule));
    if (rule.name !== undefined) this.byName.delete(rule.name);
  }
}
