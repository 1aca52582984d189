// The native addon's JavaScript surface: the one contract between C++ (relay/native) and TypeScript.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReassemblyCounters, WorkerCounters } from './counters.js';

/**
 * hash: each flow stays on one worker, steered by mcrd's bucket table, and workers come and go
 * without loss or reordering (scaling.ts). kernel-hash: the kernel's own flow hash (a change of
 * workers re-deals most flows). The others spread packets, not flows.
 */
export type FanoutMode = 'hash' | 'kernel-hash' | 'cpu' | 'lb' | 'rollover' | 'none';
export const FANOUT_MODES: readonly FanoutMode[] = ['hash', 'kernel-hash', 'cpu', 'lb', 'rollover', 'none'];

/** Receive path: TPACKET_V2 frame ring (ring, the default), TPACKET_V3 block ring (blocks), or recvmmsg batches (mmsg). */
export type IngressMode = 'ring' | 'blocks' | 'mmsg';
export const INGRESS_MODES: readonly IngressMode[] = ['ring', 'blocks', 'mmsg'];
/**
 * Send path: frames built by the relay on an AF_PACKET socket (Ethernet outputs), the same past
 * the qdisc (PACKET_QDISC_BYPASS: tc shaping does not apply), or UDP sockets through the IP stack.
 */
export type EgressMode = 'frames' | 'frames-direct' | 'udp';
export const EGRESS_MODES: readonly EgressMode[] = ['frames', 'frames-direct', 'udp'];

/** Why the parser dropped a frame; each is a key of ForwarderStats.dropped (beside 'vlan_tagged'). */
export const PARSE_DROP_REASONS = [
  'truncated',
  /** Neither IPv4 nor IPv6 (after at most two VLAN tags). */
  'not_ip',
  'bad_ihl',
  'bad_total_length',
  /** An IPv4 fragment the kernel did not reassemble. (parseFrame reports an IPv6 fragment as 'fragment' with its fields; the worker reassembles it, never counting it here.) */
  'fragment',
  'not_udp',
  'bad_udp_length',
  'not_multicast',
  /** IPv6 version nibble not 6, or payload length past the frame. */
  'bad_ipv6_header',
  /** IPv6 payload length 0 (jumbo payload option). */
  'jumbogram',
  /** An IPv6 extension header running past the payload, or hop-by-hop not first. */
  'bad_extension_header',
  /** More than 8 IPv6 extension headers before UDP. */
  'too_many_extension_headers',
  /** An IPv6 fragment with M set whose length is not a nonzero multiple of 8, or reaching past 65535 bytes (RFC 8200 4.5). */
  'bad_fragment',
] as const;
export type ParseDropReason = (typeof PARSE_DROP_REASONS)[number];

/** IPv6 reassembly counters of a worker (Forwarder.stats) or of a Reassembly table. */
export type ReassemblyStats = ReassemblyCounters;

export interface NativeOutput {
  /** An IPv4 or IPv6 multicast group, of either family whatever the input's. */
  group: string;
  port: number;
  interface: string;
  /** The most this output sends with (IPv4 TTL or IPv6 hop limit): min(ttl, input TTL - 1), or exactly ttl when fixedTtl. */
  ttl: number;
  fixedTtl?: boolean;
  /** Rewrite the DSCP bits (0-63); absent: the input's TOS byte / traffic class is kept (IPv4 TOS <-> IPv6 traffic class across families). */
  dscp?: number;
}

export interface NativeRule {
  id: string;
  /** IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) group, without brackets. */
  group: string;
  /** Only datagrams from this source (absent: any); unicast, of the group's family. */
  source?: string;
  port: number;
  outputs: NativeOutput[];
}

export interface ForwarderOptions {
  interface: string;
  fanout: FanoutMode;
  /** -1: ask the kernel for a free id (PACKET_FANOUT_FLAG_UNIQUEID; it may hand out 0); otherwise join this group. */
  fanoutId: number;
  /** Receive path: TPACKET_V2 frame ring (default), TPACKET_V3 block ring or recvmmsg batches. */
  ingress?: IngressMode;
  /** Send path (default frames). */
  egress?: EgressMode;
  /** TPACKET_V3 ring size in MiB (default 64). */
  ringMiB?: number;
}

export interface OutputStats { packets: number; bytes: number; errors: number }
export interface RuleStats { id: string; packets: number; bytes: number; outputs: OutputStats[] }
/** Every counter of relay/src/counters.ts, the frames dropped by reason and the per-rule counters. */
export interface ForwarderStats extends WorkerCounters {
  /** Frames dropped by reason: every PARSE_DROP_REASONS class, and vlan_tagged (another VLAN's, seen on its parent). */
  dropped: Record<string, number>;
  rules: RuleStats[];
}

export interface Forwarder {
  /** Fanout group id in use (after join); -1 for mode 'none' or before join. */
  readonly fanoutId: number;
  start(): void;
  /**
   * Starts receiving: joins the fanout group and returns its id. Until then the socket is bound
   * but drops everything, so a worker takes a share of the traffic only once its rules are loaded.
   */
  join(): number;
  /** Replace the whole rule table; the forwarding thread picks it up without pausing. Throws on bad input. */
  setRules(rules: NativeRule[]): void;
  /** hash mode: the group's steering table (steering.ts), for every member; the kernel no longer uses the old one when it returns. */
  steer(owners: readonly number[]): void;
  /** The thread sends the batch in hand and stops reading (frames wait in the ring); false if not within timeoutMs. */
  hold(timeoutMs: number): boolean;
  release(): void;
  /** Returns once every frame waiting in the ring at the call has been forwarded; false if not within timeoutMs. */
  barrier(timeoutMs: number): boolean;
  stats(): ForwarderStats;
  /** rx and kernelDrops alone (cheap: no per-rule counters), for the autoscaler. */
  load(): WorkerLoad;
  stop(): void;
}

export interface WorkerLoad { rx: number; kernelDrops: number }

/** An rtnetlink link message (RTM_NEWLINK: 'added', also sent on any change; RTM_DELLINK: 'removed'). */
export type LinkEvent = { kind: 'added' | 'removed'; index: number; name: string; up: boolean } | { kind: 'overrun' };

export interface LinkWatcher {
  /** Ends the watching thread; no callback after it returns. */
  stop(): void;
}

export interface Addon {
  Forwarder: new (options: ForwarderOptions) => Forwarder;
  /**
   * IGMP (family 4, the default) or MLD (family 6) helper socket: a plain UDP socket used only to
   * hold memberships. The join/leave functions take groups and sources of the socket's family and
   * throw naming the group otherwise. Per socket: at most net.ipv4.igmp_max_memberships IPv4
   * groups (default 20); IPv6 groups are bounded only by net.core.optmem_max (see relay/native/igmp.h).
   */
  igmpOpenSocket(family?: 4 | 6): number;
  igmpJoin(fd: number, ifname: string, group: string): void;
  igmpLeave(fd: number, ifname: string, group: string): void;
  igmpJoinSource(fd: number, ifname: string, group: string, source: string): void;
  igmpLeaveSource(fd: number, ifname: string, group: string, source: string): void;
  igmpClose(fd: number): void;
  /** Calls back on the JS thread for every link event in this network namespace; does not keep the process alive. */
  LinkWatcher: new (onEvent: (event: LinkEvent) => void) => LinkWatcher;
  /** SO_PEERCRED of a connected Unix socket: who is at the other end. */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  /** ifindex for a name, 0 when the interface does not exist. */
  interfaceIndex(name: string): number;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Project root, whether running from sources (relay/src) or from dist/relay/src. */
export const projectRoot = path.basename(root) === 'dist' ? path.dirname(root) : root;

/** The compiled addon (workers load it too, so their user must be able to read it). MCR_ADDON
 *  names another build of it: `npm run test:sanitized` runs the relay on its ASan/UBSan build. */
export const addonPath = process.env.MCR_ADDON ? path.resolve(process.env.MCR_ADDON) : path.join(projectRoot, 'build', 'Release', 'mcr.node');

let cached: Addon | undefined;
export function loadAddon(): Addon {
  if (!cached) {
    const file = addonPath;
    try {
      cached = createRequire(import.meta.url)(file) as Addon;
    } catch (err) {
      throw new Error(`cannot load the native addon ${file} (run 'npm install' or 'npm run build'): ${(err as Error).message}`);
    }
  }
  return cached;
}
