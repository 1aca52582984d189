// The snooping bridge's leave timers, as the kernel holds them: after a leave the querier asks
// `lastMemberCount` times, `lastMemberIntervalMs` apart, before it stops forwarding the group to
// that port (net/bridge/br_multicast.c, br_multicast_leave_group). A leave delay is judged against them.
import { $ } from 'zx';

export interface BridgeLeaveTimers {
  /** mcast_last_member_count. */
  lastMemberCount: number;
  /** mcast_last_member_interval, ms (the kernel's centiseconds × 10). */
  lastMemberIntervalMs: number;
  /** mcast_query_response_interval, ms. */
  queryResponseIntervalMs: number;
  /** The bridge port's fast leave (no queries: the group stops at once). */
  fastLeave: boolean;
  /** mcast_igmp_version of the bridge's querier. */
  igmpVersion: number;
  /** lastMemberCount × lastMemberIntervalMs: how long the bridge still sends a group after its last member left. */
  lastMemberTimeMs: number;
}

interface LinkInfo { linkinfo: { info_data?: Record<string, number>; info_slave_data?: Record<string, unknown> } }

async function linkInfo(ns: string, dev: string): Promise<LinkInfo['linkinfo']> {
  const { stdout } = await $`ip -n ${ns} -d -j link show dev ${dev}`;
  return (JSON.parse(stdout) as LinkInfo[])[0].linkinfo;
}

export async function bridgeLeaveTimers(ns: string, bridge: string, port: string): Promise<BridgeLeaveTimers> {
  const b = (await linkInfo(ns, bridge)).info_data ?? {};
  const p = (await linkInfo(ns, port)).info_slave_data ?? {};
  const lastMemberCount = Number(b.mcast_last_member_cnt);
  const lastMemberIntervalMs = Number(b.mcast_last_member_intvl) * 10;
  return {
    lastMemberCount,
    lastMemberIntervalMs,
    queryResponseIntervalMs: Number(b.mcast_query_response_intvl) * 10,
    fastLeave: p.fastleave === true,
    igmpVersion: Number(b.mcast_igmp_version),
    lastMemberTimeMs: lastMemberCount * lastMemberIntervalMs,
  };
}
