// What a join-leave run records (RFC 3918 group join delay and group leave delay), per group and as
// a distribution, with the facts needed to judge it: the resolution the stream rate allows, the
// observation window, and the snooping bridge's leave timers.
import type { BridgeLeaveTimers } from './bridge-timers.js';

/** The load a burdened step adds: other groups forwarded while the measured ones join (join-leave-burden.ts). */
export interface BurdenPlan {
  groups: number;
  /** Packets/s per burden group. */
  ratePps: number;
}

export interface BurdenRecord extends BurdenPlan {
  sent: number;
  /** Distinct packets the sink received. */
  delivered: number;
  /**
   * Runs of missing packets after each burden group first arrived, summed over its groups: 0 when
   * the steady groups were not interrupted while others joined and left (the run before their own
   * join is left out).
   */
  gapsAfterJoin: number;
}

/** Quantiles of per-group delays, ms. null: beyond the window (some group never arrived / never stopped). */
export interface DelayDistribution {
  groups: number;
  /** Groups with a delay (arrived, or stopped, within the window). */
  measured: number;
  minMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface JoinMeasurement {
  /** What the request was: "mcrctl apply of N rules", "N socat processes started", ... */
  request: string;
  /** CLOCK_MONOTONIC ns when the request was made (the generator and the sink use the same clock). */
  requestNs: number;
  /** Until the request was acknowledged (relay: the apply's answer; socat: every socket bound), ms. */
  acknowledgedMs: number;
  /** How long after the request the sink was watched; a group not arrived by then has no delay. */
  windowMs: number;
  /** Per group (stream order): first packet at the sink − request, ms; null: none within the window. */
  perGroupMs: (number | null)[];
  distribution: DelayDistribution;
  /** Groups whose first packet reached the sink before the request: the bridge leaked them (should be 0). */
  arrivedBeforeRequest: number;
  /** One inter-packet gap of a stream: a delay is known to within this (the next packet is that far away). */
  resolutionMs: number;
}

export interface LeaveMeasurement {
  request: string;
  requestNs: number;
  acknowledgedMs: number;
  windowMs: number;
  /** The contender's --igmp-leave-delay (0: none; socat and the kernel leave at once). */
  configuredDelayMs: number;
  bridge: BridgeLeaveTimers;
  /**
   * Per group: send time of the last packet of the group seen on the contender's input link −
   * request, ms (the bridge stopped within one gap after it); null: it still arrived at the end of
   * the window (never stopped) or was never seen.
   */
  perGroupMs: (number | null)[];
  distribution: DelayDistribution;
  /** Groups the tap never saw at all (not flowing before the removal). */
  neverSeen: number;
  resolutionMs: number;
  /** Frames the tap's kernel buffer dropped: a dropped last packet would shorten a delay by a gap. */
  tapDrops: number;
  tapCommand: string;
}

export interface JoinLeaveRecord {
  join: JoinMeasurement;
  leave?: LeaveMeasurement;
  /** Forwarding-burdened join delay: the groups the contender already forwarded meanwhile. */
  burden?: BurdenRecord;
}

/** Nearest-rank quantile of sorted values (q in 0..1). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const ms = (n: number) => Math.round(n * 1000) / 1000;

/** The distribution of per-group delays; a missing delay counts as beyond every measured one. */
export function distribution(perGroup: (number | null)[]): DelayDistribution {
  const sorted = perGroup.map((d) => d ?? Infinity).sort((a, b) => a - b);
  const at = (q: number) => {
    if (sorted.length === 0) return null;
    const v = quantile(sorted, q);
    return Number.isFinite(v) ? ms(v) : null;
  };
  return { groups: perGroup.length, measured: perGroup.filter((d) => d !== null).length, minMs: at(0), p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
}

/** Per group: first arrival at the sink − request, ms; null when nothing arrived within the window. */
export function joinDelays(firstArrivalNs: number[], requestNs: number, windowMs: number): (number | null)[] {
  return firstArrivalNs.map((t) => (t === 0 || (t - requestNs) / 1e6 > windowMs ? null : ms((t - requestNs) / 1e6)));
}

/** Packets at the very end a tap may not have seen while the group still flowed: a group seen this close to the generator's last packet never stopped. */
const TAIL_PACKETS = 2;

/**
 * Per group: send time of the last packet seen on the input link − request, ms. null when the group
 * was never seen, or was seen up to (within TAIL_PACKETS of) the last sequence number the generator
 * sent when the traffic stopped after the window: it never stopped.
 */
export function leaveDelays(seen: ({ lastSeq: number; lastTxNs: number } | undefined)[], requestNs: number, lastSentSeq: number[]): (number | null)[] {
  return seen.map((t, i) => (t === undefined || t.lastSeq >= lastSentSeq[i] - TAIL_PACKETS ? null : ms((t.lastTxNs - requestNs) / 1e6)));
}
