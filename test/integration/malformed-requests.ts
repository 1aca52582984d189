// Control requests that mcrd must refuse, made from a seeded generator: random bytes, JSON that is
// not a request, unknown commands, and adds, removes and applies each carrying at least one defect
// the protocol defines as an error. Read-only commands are mixed in. Every one is refused or
// read-only by construction, so the rule table must be the same afterwards.

/** mulberry32: small, seeded, reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzRequest {
  /** One request line, without its newline: bytes, since some are not UTF-8. */
  line: Buffer;
  /** A read-only command that may succeed; anything else must be refused. */
  readOnly: boolean;
}

type Rule = Record<string, unknown>;

/** Changes that make any valid rule invalid, each for a reason the protocol names. */
const RULE_DEFECTS: ((r: Rule, out: Rule) => Rule)[] = [
  (r) => ({ ...r, inputGroup: '300.1.1.1' }),
  (r) => ({ ...r, inputGroup: '10.0.0.1' }),
  (r) => ({ ...r, inputGroup: 239 }),
  (r) => ({ ...r, inputGroup: 'fd00::1' }),
  (r) => ({ ...r, inputGroup: '::ffff:239.1.1.1' }),
  (r) => ({ ...r, inputGroup: 'ff15::1', inputSource: '10.0.0.1' }),
  (r) => ({ ...r, inputPort: 0 }),
  (r) => ({ ...r, inputPort: 70000 }),
  (r) => ({ ...r, inputPort: 1.5 }),
  (r) => ({ ...r, inputPort: 'x' }),
  (r) => ({ ...r, inputPort: null }),
  (r) => ({ ...r, inputInterface: '' }),
  (r) => ({ ...r, inputInterface: 'x'.repeat(16) }),
  (r) => ({ ...r, inputInterface: 'mcrnope0' }),
  (r) => ({ ...r, inputInterface: 5 }),
  (r) => ({ ...r, inputSource: '239.1.1.1' }),
  (r) => ({ ...r, inputSource: '0.0.0.0' }),
  (r) => ({ ...r, inputSource: 7 }),
  (r) => ({ ...r, outputs: [] }),
  (r) => ({ ...r, outputs: 'x' }),
  (r) => ({ ...r, outputs: [null] }),
  (r) => ({ ...r, outputs: undefined }),
  (r, o) => ({ ...r, outputs: [{ ...o, port: 0 }] }),
  (r, o) => ({ ...r, outputs: [{ ...o, ttl: 0 }] }),
  (r, o) => ({ ...r, outputs: [{ ...o, ttl: 256 }] }),
  (r, o) => ({ ...r, outputs: [{ ...o, dscp: 64 }] }),
  (r, o) => ({ ...r, outputs: [{ ...o, fixedTtl: 'yes' }] }),
  (r, o) => ({ ...r, outputs: [{ ...o, extra: 1 }] }),
  (r, o) => ({ ...r, outputs: [o, o] }),
  (r) => ({ ...r, outputs: [{ group: r.inputGroup, port: r.inputPort, interface: r.inputInterface }] }),
  (r) => ({ ...r, name: '' }),
  (r) => ({ ...r, name: 'a b' }),
  (r) => ({ ...r, name: 'x'.repeat(65) }),
  (r) => ({ ...r, waitForInterface: 'yes' }),
  (r) => ({ ...r, bogus: 1 }),
  (r) => JSON.parse(`${JSON.stringify(r).slice(0, -1)},"__proto__":{"outputs":[]}}`) as Rule,
];

/**
 * `valid(i)` is a rule mcrd would accept (on no group a kept rule uses); `existing` names rules
 * that are there, so a defect-free duplicate of one is also a refusal.
 */
export function malformedRequests(n: number, random: () => number, valid: (i: number) => { rule: Rule; output: Rule }, existing: Rule[]): FuzzRequest[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const broken = (i: number): Rule => {
    const { rule, output } = valid(i);
    return pick(RULE_DEFECTS)(rule, output);
  };
  const refused = (request: unknown): FuzzRequest => ({ line: Buffer.from(JSON.stringify(request)), readOnly: false });
  // Any byte but a newline, after a first one that keeps the line from being blank (blank lines get no reply).
  const bytes = () => Buffer.from([0x7e, ...Array.from({ length: Math.floor(random() * 200) }, () => 11 + Math.floor(random() * 245))]);
  const makers: ((i: number) => FuzzRequest)[] = [
    () => ({ line: bytes(), readOnly: false }),
    (i) => refused(pick([[1, 2], 42, 'ping', null, true, [{ cmd: 'ping' }]] as unknown[]) ?? i),
    (i) => refused({ id: { nested: i }, cmd: 'ping' }),
    (i) => refused({ id: i }),
    (i) => refused({ id: i, cmd: pick([5, null, ['add'], { cmd: 'add' }]) }),
    (i) => refused({ id: i, cmd: pick(['ad', 'ADD', 'rm', '', 'shutdown', '__proto__', 'constructor', 'toString']) }),
    (i) => refused({ id: i, cmd: 'add', rule: broken(i) }),
    (i) => refused({ id: i, cmd: 'add', rule: broken(i) }),
    (i) => refused({ id: i, cmd: 'add', rule: pick([undefined, 'rule', [valid(i).rule], 0]) }),
    (i) => refused({ id: i, cmd: 'add', rule: pick(existing) }),
    (i) => refused({ id: i, cmd: 'remove', ...pick([{ ruleId: `nope-${i}` }, { name: `nope-${i}` }, { ruleId: i }, {}, { name: ['x'] }]) }),
    // All or nothing: one bad rule refuses the valid ones beside it.
    (i) => refused({ id: i, cmd: 'apply', add: [valid(i).rule, broken(i + 1)] }),
    (i) => refused({ id: i, cmd: 'apply', add: [valid(i).rule], remove: [{ id: `nope-${i}` }] }),
    (i) => refused({ id: i, cmd: 'apply', add: pick(['x', 5, [null], { rule: 1 }]) }),
    (i) => ({ line: Buffer.from(JSON.stringify({ id: i, cmd: pick(['ping', 'list', 'stats', 'version', 'workers']) })), readOnly: true }),
  ];
  return Array.from({ length: n }, (_, i) => pick(makers)(i));
}
