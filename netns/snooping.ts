// An IGMP-honest segment: the generator sends through a Linux bridge that snoops IGMP and MLD, acts
// as querier for both and does not flood unknown multicast toward the relay's port, so a group
// reaches the relay's namespace only while something there has joined it — as on a switched plant.
//
// Kernel facts this relies on (net/bridge/br_multicast.c):
// - Until a querier "exists" the bridge treats every group as unknown and floods it; a frame the
//   bridge itself originates floods to every port even with mcast_flood off. With our own
//   querier, it exists once mcast_query_response_interval has passed since mcast_querier was
//   switched on — counted with the interval in force at that moment, so the short interval is set
//   first and the querier enabled afterwards, in a second command.
// - After that, a group goes only to the ports listed for it in the mdb (IGMP reports).
// - MLD the same (CONFIG_BRIDGE_IGMP_SNOOPING with IPv6): mcast_snooping and mcast_querier cover
//   both (measured: a joined ff15:: group listed and delivered, an unjoined one not flooded, settled
//   in ~0.6 s as for IGMP). Read in the source, not measured: the MLD querier needs a usable IPv6
//   source on the bridge (its link-local address, not tentative — hence no DAD in our namespaces),
//   else its own querier does not count (BROPT_HAS_IPV6_ADDR) and IPv6 multicast floods;
//   mcast_query_use_ifaddr only matters for IGMP (else queries come from 0.0.0.0).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import type { Family } from './family.js';

/** Query response interval, centiseconds: how long the bridge floods after its querier starts. */
const QUERY_RESPONSE_CS = 50;
const SETTLE_TIMEOUT_MS = 15_000;
// Groups the bridge can snoop: past mcast_hash_max (default 4096) it stops snooping and floods
// every group. The multi-stream ladder goes to 10,000 groups; the next power of two leaves room
// for the link-local groups every host joins.
const MCAST_HASH_MAX = 16384;
/** A group nobody joins, per family: while probes to it still reach the relay's port, the bridge floods. */
const CANARY_GROUP: Record<Family, string> = { 4: '239.255.77.1', 6: 'ff15::77:1' };
const PROBES = 20;
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** probe.js beside this module when compiled, or the compiled one when run from the sources (tests). */
function probeScript(): string {
  const found = [path.join(HERE, 'probe.js'), path.join(HERE, '..', 'dist', 'netns', 'probe.js')].find((f) => existsSync(f));
  if (!found) throw new Error(`netns/probe.js not found beside ${HERE}: run 'npm run build:ts'`);
  return found;
}

export interface SnoopingSegment {
  ns: string;
  bridge: string;
  /** The bridge port that leads to the relay namespace. */
  relayPort: string;
  /** Milliseconds from enabling the querier until the bridge stopped flooding (measured). */
  settledMs: number;
  /** Groups of the segment's family the bridge has seen joined behind the relay's port (its mdb); IPv6 as the kernel prints them (ff15::1:1), link-scope ones left out. */
  joinedGroups(): Promise<Set<string>>;
  /** Waits until every group is joined behind the relay's port, at most timeoutMs; returns those joined. */
  waitForJoins(groups: string[], timeoutMs: number): Promise<Set<string>>;
}

async function txPackets(ns: string, ifname: string): Promise<number> {
  const { stdout } = await $`ip -n ${ns} -s -j link show ${ifname}`;
  return Number((JSON.parse(stdout) as { stats64: { tx: { packets: number } } }[])[0].stats64.tx.packets);
}

/**
 * Whether an mdb group is one of `family`'s that traffic could use: IPv4, or IPv6 beyond link
 * scope (ffx2:: are neighbour discovery's solicited-node and all-routers groups every host joins).
 */
function isDataGroup(group: string, family: Family): boolean {
  return family === 4 ? /^\d+\.\d+\.\d+\.\d+$/.test(group) : group.includes(':') && !/^ff[0-9a-f]2:/i.test(group);
}

/** Sends probes to the family's canary group and reports whether they all left through the relay port. */
async function floods(ns: string, bridge: string, relayPort: string, sourceAddr: string, family: Family): Promise<boolean> {
  const before = await txPackets(ns, relayPort);
  await $`ip netns exec ${ns} ${process.execPath} ${probeScript()} ${CANARY_GROUP[family]} ${sourceAddr} ${String(PROBES)} ${bridge}`;
  // Only a flooding bridge forwards every probe; a query or two may pass in the same window.
  return (await txPackets(ns, relayPort)) - before >= PROBES;
}

/**
 * Turns `bridge` (already created with `port` enslaved and addressed with sourceAddrs) into a
 * snooping querier that does not flood toward `port`, and waits until it stops flooding traffic of
 * `family` (IGMP and MLD querier start together; only the family a run sends is probed).
 */
export async function makeSnooping(ns: string, bridge: string, relayPort: string, sourceAddrs: Record<Family, string>, family: Family = 4): Promise<SnoopingSegment> {
  await $`ip -n ${ns} link set ${bridge} type bridge mcast_snooping 1 mcast_query_use_ifaddr 1 mcast_query_response_interval ${String(QUERY_RESPONSE_CS)} mcast_hash_max ${String(MCAST_HASH_MAX)}`;
  await $`ip netns exec ${ns} bridge link set dev ${relayPort} mcast_flood off`;
  const started = Date.now();
  await $`ip -n ${ns} link set ${bridge} type bridge mcast_querier 1`;
  await sleep(QUERY_RESPONSE_CS * 10);
  while (await floods(ns, bridge, relayPort, sourceAddrs[family], family)) {
    if (Date.now() - started > SETTLE_TIMEOUT_MS) throw new Error(`snooping bridge ${bridge} in ${ns} still floods unknown multicast after ${SETTLE_TIMEOUT_MS} ms`);
    await sleep(100);
  }
  const settledMs = Date.now() - started;

  const joinedGroups = async () => {
    const { stdout } = await $`ip netns exec ${ns} bridge -j mdb show dev ${bridge}`;
    const entries = (JSON.parse(stdout || '[]') as { mdb?: { port: string; grp: string }[] }[]).flatMap((e) => e.mdb ?? []);
    return new Set(entries.filter((e) => e.port === relayPort && isDataGroup(e.grp, family)).map((e) => e.grp));
  };
  return {
    ns,
    bridge,
    relayPort,
    settledMs,
    joinedGroups,
    async waitForJoins(groups, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const joined = await joinedGroups();
        if (groups.every((g) => joined.has(g)) || Date.now() > deadline) return joined;
        await sleep(50);
      }
    },
  };
}
