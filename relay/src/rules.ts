// Rule model and validation: everything a control request can get wrong is caught here,
// before any state changes.

export interface Output {
  group: string;
  port: number;
  interface: string;
  ttl: number;
}

export interface RuleSpec {
  name?: string;
  inputInterface: string;
  inputGroup: string;
  inputPort: number;
  outputs: Output[];
}

export interface Rule extends RuleSpec {
  id: string;
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

export function isMulticast(text: string): boolean {
  const value = ipv4ToNumber(text);
  return value !== undefined && value >= 0xe0000000 && value <= 0xefffffff;
}

function checkGroup(value: unknown, what: string): string {
  if (typeof value !== 'string' || ipv4ToNumber(value) === undefined) fail(`${what}: '${String(value)}' is not an IPv4 address`);
  if (!isMulticast(value)) fail(`${what}: ${value} is not a multicast group (224.0.0.0/4)`);
  // Normalise (e.g. 239.001.1.1 -> 239.1.1.1) so duplicates are caught.
  return value.split('.').map(Number).join('.');
}

function checkPort(value: unknown, what: string): number {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`${what}: port '${String(value)}' out of range (1-65535)`);
  }
  return port;
}

function checkInterface(value: unknown, what: string, interfaceExists: (name: string) => boolean): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > IFNAME_MAX || /[\s/:,]/.test(value)) {
    fail(`${what}: '${String(value)}' is not a valid interface name`);
  }
  if (!interfaceExists(value)) fail(`${what}: unknown interface '${value}'`);
  return value;
}

function checkTtl(value: unknown, what: string): number {
  if (value === undefined) return DEFAULT_TTL;
  const ttl = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 255) fail(`${what}: ttl '${String(value)}' out of range (1-255)`);
  return ttl;
}

/** Parses "G:P:IF[:TTL]" as typed on the mcrctl command line. */
export function parseOutputSpec(spec: string): { group: string; port: string; interface: string; ttl?: string } {
  const parts = spec.trim().split(':');
  if (parts.length < 3 || parts.length > 4 || parts.some((p) => p === '')) {
    fail(`output '${spec}' must look like GROUP:PORT:INTERFACE[:TTL], e.g. 239.2.2.2:5001:eth1`);
  }
  const [group, port, iface, ttl] = parts;
  return { group, port, interface: iface, ...(ttl === undefined ? {} : { ttl }) };
}

/**
 * Validates an untrusted rule specification (from JSON) and returns a normalised copy.
 * Checks only the rule itself; conflicts with other rules are the table's business.
 */
export function validateRuleSpec(input: unknown, interfaceExists: (name: string) => boolean): RuleSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('rule must be an object');
  const raw = input as Record<string, unknown>;
  const known = new Set(['name', 'inputInterface', 'inputGroup', 'inputPort', 'outputs']);
  for (const key of Object.keys(raw)) if (!known.has(key)) fail(`unknown rule field '${key}'`);

  let name: string | undefined;
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(raw.name)) {
      fail(`name '${String(raw.name)}' must be 1-64 characters of letters, digits, '_', '.', '-'`);
    }
    name = raw.name;
  }
  const inputInterface = checkInterface(raw.inputInterface, 'input interface', interfaceExists);
  const inputGroup = checkGroup(raw.inputGroup, 'input group');
  const inputPort = checkPort(raw.inputPort, 'input port');

  if (!Array.isArray(raw.outputs) || raw.outputs.length === 0) fail('rule has no outputs');
  const seen = new Set<string>();
  const outputs = raw.outputs.map((o: unknown, i: number): Output => {
    const what = `output ${i + 1}`;
    if (typeof o !== 'object' || o === null) fail(`${what} must be an object`);
    const out = o as Record<string, unknown>;
    const output = {
      group: checkGroup(out.group, `${what} group`),
      port: checkPort(out.port, `${what}`),
      interface: checkInterface(out.interface, `${what} interface`, interfaceExists),
      ttl: checkTtl(out.ttl, what),
    };
    if (output.interface === inputInterface && output.group === inputGroup && output.port === inputPort) {
      fail(`${what} ${output.group}:${output.port}:${output.interface} loops back to the input`);
    }
    const key = `${output.group}:${output.port}:${output.interface}`;
    if (seen.has(key)) fail(`${what} ${key} is listed twice`);
    seen.add(key);
    return output;
  });
  return { ...(name === undefined ? {} : { name }), inputInterface, inputGroup, inputPort, outputs };
}

export function inputKey(rule: Pick<RuleSpec, 'inputInterface' | 'inputGroup' | 'inputPort'>): string {
  return `${rule.inputInterface}|${rule.inputGroup}|${rule.inputPort}`;
}

export function describeInput(rule: Pick<RuleSpec, 'inputInterface' | 'inputGroup' | 'inputPort'>): string {
  return `${rule.inputGroup}:${rule.inputPort} on ${rule.inputInterface}`;
}

/** The authoritative rule table: ids, names and input keys are unique. */
export class RuleTable {
  private readonly rules = new Map<string, Rule>();
  private nextId = 1;

  list(): Rule[] {
    return [...this.rules.values()];
  }

  forInterface(name: string): Rule[] {
    return this.list().filter((r) => r.inputInterface === name);
  }

  /** Rules still using this input group on this interface (for IGMP leave decisions). */
  usersOfGroup(iface: string, group: string): number {
    return this.list().filter((r) => r.inputInterface === iface && r.inputGroup === group).length;
  }

  /** Throws if the spec conflicts with an existing rule; returns the rule it would become. */
  prepare(spec: RuleSpec): Rule {
    const key = inputKey(spec);
    for (const rule of this.rules.values()) {
      if (inputKey(rule) === key) fail(`duplicate rule: ${describeInput(spec)} is already handled by rule ${rule.id}${rule.name ? ` (${rule.name})` : ''}`);
      if (spec.name !== undefined && rule.name === spec.name) fail(`duplicate rule name '${spec.name}' (rule ${rule.id})`);
    }
    return { id: String(this.nextId), ...spec };
  }

  commit(rule: Rule): void {
    this.rules.set(rule.id, rule);
    this.nextId = Math.max(this.nextId, Number(rule.id) + 1);
  }

  find(selector: { id?: unknown; name?: unknown }): Rule {
    if (selector.id !== undefined) {
      const rule = this.rules.get(String(selector.id));
      if (!rule) fail(`no rule with id '${String(selector.id)}'`);
      return rule;
    }
    if (selector.name !== undefined) {
      const rule = this.list().find((r) => r.name === selector.name);
      if (!rule) fail(`no rule named '${String(selector.name)}'`);
      return rule;
    }
    fail('remove needs an id or a name');
  }

  delete(id: string): void {
    this.rules.delete(id);
  }
}
