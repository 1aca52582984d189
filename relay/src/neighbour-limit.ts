// The kernel keeps a neighbour (ARP) entry for every multicast group a host sends to, in one table
// shared by every network namespace. Past net.ipv4.neigh.default.gc_thresh2 entries it collects
// and re-creates them on the send path, under a lock every sender shares: measured at 1000 output
// groups, 2 neighbour allocations per packet and p50 latency 23 ms instead of 0.2 ms (docs/measured-figures.md,
// "where the time goes at 1000 streams"). mcrd says so once when its output groups cross it.
import { readFileSync } from 'node:fs';
import type { Logger } from './log.js';

export const GC_THRESH2 = '/proc/sys/net/ipv4/neigh/default/gc_thresh2';

/** The kernel's default gc_thresh2. */
export const DEFAULT_GC_THRESH2 = 512;

/**
 * The threshold, and where it came from. A network namespace other than the host's has no
 * neigh/default sysctls (the table and its thresholds are the host's): the kernel default is
 * assumed there. Undefined off Linux.
 */
export function neighbourThreshold(file = GC_THRESH2): { value: number; assumed: boolean } | undefined {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(value) && value > 0 ? { value, assumed: false } : undefined;
  } catch {
    return process.platform === 'linux' ? { value: DEFAULT_GC_THRESH2, assumed: true } : undefined;
  }
}

export class NeighbourWarning {
  private warned = false;

  constructor(
    private readonly log: Logger,
    private readonly threshold: { value: number; assumed: boolean } | undefined,
  ) {}

  /** Called with the number of distinct output groups after each change. */
  check(groups: number): void {
    if (this.threshold === undefined) return;
    if (groups <= this.threshold.value) {
      this.warned = false;
      return;
    }
    if (this.warned) return;
    this.warned = true;
    this.log.warn(
      `${groups} output groups exceed net.ipv4.neigh.default.gc_thresh2 (${this.threshold.value}${this.threshold.assumed ? ", the kernel's default: not readable in this network namespace" : ''}): the kernel keeps a neighbour entry per multicast group sent to and will collect and re-create them on every send, costing latency and CPU; raise net.ipv4.neigh.default.gc_thresh1/2/3 above the number of groups (the table is shared by all namespaces of the host)`,
    );
  }
}
