// The worker counters, each declared once: its key (in a worker's stats and the totals of
// `mcrctl stats --json`), its Prometheus family mcr_worker_<metric>_total with its help text, and
// the `mcrctl stats` line that prints it. The addon fills the same keys (relay/native/counters.h);
// test/unit/counters.test.ts holds the two lists to each other.

/** The lines of `mcrctl stats` that print counters as label=value. */
export type CounterLine = 'dropped' | 'reassembly';

export interface CounterSpec<K extends string = string> {
  readonly key: K;
  readonly metric: string;
  readonly help: string;
  /** The `mcrctl stats` line that prints the total, and its label there. */
  readonly line?: { readonly name: CounterLine; readonly label: string };
}

export const WORKER_COUNTERS = [
  { key: 'rx', metric: 'received_frames', help: 'Frames the worker took from its AF_PACKET socket.' },
  { key: 'matched', metric: 'matched_frames', help: 'Frames that matched a rule.' },
  { key: 'unmatched', metric: 'unmatched_frames', help: 'Well-formed multicast frames that matched no rule.' },
  { key: 'malformed', metric: 'malformed_frames', help: 'Frames dropped as malformed (by class: mcr_worker_dropped_frames_total).' },
  { key: 'kernelDrops', metric: 'ingress_drops', help: "Frames the kernel dropped at the worker's receive ring (PACKET_STATISTICS): the worker fell behind." },
  { key: 'ringFreezes', metric: 'ring_freezes', help: 'Times the TPACKET_V3 receive ring was full (--ingress blocks).' },
  { key: 'tx', metric: 'sent_datagrams', help: 'Datagrams sent on outputs.' },
  { key: 'txMessages', metric: 'send_messages', help: "Messages that carried them: fewer than datagrams when a flow's run went as one GSO message." },
  { key: 'txErrors', metric: 'send_errors', help: 'Datagrams whose send failed (output interface gone, buffer full, ...).' },
  { key: 'ttlExpired', metric: 'ttl_expired', help: "Output copies not sent because the packet's TTL ran out.", line: { name: 'dropped', label: 'ttl_expired' } },
  { key: 'txNoSource', metric: 'send_no_source', help: 'Output copies not sent because the output interface has no address of their family to send frames from (also counted in send_errors).', line: { name: 'dropped', label: 'no_source' } },
  { key: 'fragments', metric: 'ipv6_fragments', help: "IPv6 fragments taken by the worker's reassembler (the kernel reassembles IPv4 ones before fanout).", line: { name: 'reassembly', label: 'fragments' } },
  { key: 'reassembled', metric: 'reassembled_datagrams', help: 'IPv6 datagrams reassembled from fragments (then looked up like any datagram).', line: { name: 'reassembly', label: 'reassembled' } },
  { key: 'reassemblyExpired', metric: 'reassembly_expired', help: 'Incomplete IPv6 datagrams dropped when their 1 s reassembly timeout ran out.', line: { name: 'reassembly', label: 'expired' } },
  { key: 'reassemblyEvicted', metric: 'reassembly_evicted', help: 'Incomplete IPv6 datagrams dropped to make room (reassembly table full: the oldest goes).', line: { name: 'reassembly', label: 'evicted' } },
  { key: 'reassemblyOverlaps', metric: 'reassembly_overlaps', help: 'IPv6 datagrams dropped for an overlapping (RFC 5722) or inconsistent fragment.', line: { name: 'reassembly', label: 'overlaps' } },
  { key: 'fragmentDuplicates', metric: 'duplicate_fragments', help: 'Exact duplicate IPv6 fragments dropped (their datagram kept).', line: { name: 'reassembly', label: 'duplicates' } },
  { key: 'fragmentsUnwanted', metric: 'ipv6_unwanted_fragments', help: 'IPv6 fragments dropped before taking a reassembly slot: no rule takes their group (and source).', line: { name: 'reassembly', label: 'unwanted' } },
] as const satisfies readonly CounterSpec[];

type Spec = (typeof WORKER_COUNTERS)[number];
export type WorkerCounterKey = Spec['key'];
/** A worker's counters, or their totals over the workers. */
export type WorkerCounters = Record<WorkerCounterKey, number>;
/** The IPv6 reassembly counters: those of the `IPv6 reassembly:` line. */
export type ReassemblyCounters = Record<Extract<Spec, { line: { name: 'reassembly' } }>['key'], number>;

/** Each counter summed over the workers' counters (0 when none reported). */
export function sumCounters<K extends string>(catalogue: readonly CounterSpec<K>[], all: Iterable<Partial<Record<K, number>>>): Record<K, number> {
  const totals = Object.fromEntries(catalogue.map((c) => [c.key, 0])) as Record<K, number>;
  for (const counts of all) for (const { key } of catalogue) totals[key] += counts[key] ?? 0;
  return totals;
}

/** The label=value pairs of one `mcrctl stats` line, from the totals. */
export function counterLine(catalogue: readonly CounterSpec[], line: CounterLine, totals: Partial<Record<string, number>>): string {
  return catalogue
    .filter((c) => c.line?.name === line)
    .map((c) => `${c.line?.label}=${totals[c.key] ?? 0}`)
    .join(' ');
}
