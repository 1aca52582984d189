// A contender forwards the streams of a step from the relay namespace's input interface to its
// output interface: the relay (mcrd), socat, or the kernel's own multicast routing.
import type { Chain } from '../../../netns/topology.js';
import type { FaultDetail, FaultPlan } from '../fault-plan.js';
import type { Family, StreamPlan } from '../streams.js';
import type { Resources } from './resources.js';
import type { EgressMode, IngressMode } from '../../../relay/src/api.js';

export type ContenderName = 'relay' | 'socat' | 'kernel';
export const CONTENDER_NAMES: readonly ContenderName[] = ['relay', 'socat', 'kernel'];

export interface ContenderReport {
  /** Exact command lines started, so a reader can reproduce the baseline. */
  commands: string[];
  /** Packets the contender dropped at its ingress (ring/socket), when it can tell. */
  ingressDrops?: number;
  /** Send errors at its egress, when it can tell. */
  egressErrors?: number;
  /** Contender-specific counters (e.g. per-worker packet shares for the relay). */
  counters: Record<string, unknown>;
}

export interface RunningContender {
  /**
   * CPU seconds its processes have used so far (null when not attributable, as for the kernel's
   * softirq forwarding). The step samples it around the traffic, so CPU per packet leaves out
   * start-up and idle waits that only the harness decides.
   */
  cpuSeconds(): number | null;
  /** Stops everything it started and returns its own counters. */
  stop(): Promise<ContenderReport>;
  /** Memory and descriptors of its processes now (null: not attributable, as for the kernel). */
  resources?(): Resources | null;
  /** Its own counters now, for the timeline (the relay: summed from a scrape of mcrd's /metrics). */
  counters?(): Promise<Record<string, number>>;
  /** The CPU lists its processes may run on now, as /proc shows them (absent: no processes of its own). */
  cpuLists?(): string[];
  /** Carries out a fault only the contender can (kill a worker, restart, churn rules); absent: none. */
  inject?(fault: FaultPlan): Promise<FaultDetail>;
}

/** Deliberate impairments that must make a gate fail (negative controls). */
export interface Impairments {
  /** tc tbf rate on the relay namespace's output link, e.g. '2mbit' (all contenders). */
  egressLimit?: string;
  /** Run mcrd with --no-igmp (relay only): on a snooping segment nothing should arrive. */
  noIgmp?: boolean;
  /** CPU fraction the relay's processes may use, through a cgroup (relay only), e.g. 0.25. */
  relayCpuLimit?: number;
  /** The generator duplicates every 100th packet in this repetition only (all contenders): the duplication gate must fail it. */
  duplicatesInRepetition?: number;
  /** The relay's rule for stream 1 sends to stream 2's output group (relay only): the misdelivery gate must fail it. */
  crossWire?: boolean;
  /** µs of CPU the relay spends more per datagram sent (relay only, harness/impairments/slow-send.c): the CPU-per-packet gate must fail it. */
  relaySlowSendUs?: number;
}

export interface StartOptions {
  chain: Chain;
  streams: StreamPlan[];
  /** Directory for this contender's logs. */
  logDir: string;
  workers: number;
  /** mcrd flags after the harness's own (the last of a repeated flag wins). */
  relayFlags?: string[];
  fanout: string;
  /** Relay receive path. */
  ingress: IngressMode;
  /** Relay send path. */
  egress: EgressMode;
  impairments: Impairments;
  /** CPUs the contender's processes run on (--cpus contender=...; absent: wherever the kernel puts them). */
  cpus?: string;
}

export interface Availability {
  ok: boolean;
  /** Why not, and how to get it. */
  reason?: string;
  /** Not ok because this machine's kernel lacks what the contender is (nothing to install): the gate reports it, it does not fail the run for it. */
  kernelLacks?: boolean;
}

export interface Contender {
  name: ContenderName;
  /** Whether the contender can rewrite group and port (the kernel cannot: its sink joins the input groups). */
  rewrites: boolean;
  /** Settings for the relay namespace this contender needs (e.g. forwarding for the kernel). */
  needsForwarding: boolean;
  available(family: Family): Promise<Availability>;
  start(options: StartOptions): Promise<RunningContender>;
}
