// Namespace topologies built from small helpers (in the spirit of the kernel's
// selftests/net/forwarding/lib.sh). Every name starts with a per-run prefix, every sysctl is set
// inside our own namespaces, and teardown runs in finally, on SIGINT/SIGTERM, and as a sweep of
// what dead runs left.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx';
import { sysctl } from './sysctl.js';
import type { Family } from './family.js';
import { makeSnooping, type SnoopingSegment } from './snooping.js';
import { forgetOwner, isAlive, ownerRecords, processStartTime, recordOwner } from './state.js';

export interface Host {
  ns: string;
  ifname: string;
  /** IPv4 address without prefix length (/24). */
  addr: string;
  /** IPv6 (ULA) address without prefix length (/64): fd00:251:<link>::<host>, beside the IPv4 10.251.<link>.<host>. */
  addr6: string;
}

/**
 * What sits between the generator and the relay namespace. 'snooping' (the scenarios' default): a
 * bridge that snoops IGMP and forwards a group to the relay only while it is joined there.
 * 'plain': a veth pair that delivers every frame whether or not anyone joined.
 */
export type Topology = 'snooping' | 'plain';
/** IP version of a run's traffic (family.ts, which snooping.ts imports without importing this). */
export type { Family } from './family.js';
export const TOPOLOGIES: readonly Topology[] = ['snooping', 'plain'];

export interface Chain {
  prefix: string;
  topology: Topology;
  /** The snooping bridge in the generator's namespace (topology 'snooping'). */
  segment?: SnoopingSegment;
  gen: Host;
  relayIn: Host;
  relayOut: Host;
  sink: Host;
  /** Every output link, relay side and sink side; the first is relayOut and sink. */
  outputs: { relayOut: Host; sink: Host }[];
  destroy(): Promise<void>;
}

/**
 * Output links a chain may have: the kernel's MAXVIFS (32 multicast interfaces per namespace) less
 * the input, so the kernel contender can route to every one.
 */
export const MAX_OUTPUTS = 31;

export interface Pair {
  prefix: string;
  gen: Host;
  sink: Host;
  destroy(): Promise<void>;
}

export interface ChainOptions {
  prefix?: string;
  /** Put each relay-side veth end into its own Linux bridge (the bridge carries the address). */
  bridge?: boolean;
  mtu?: number;
  /** Enable IPv4 and IPv6 forwarding in the relay namespace (for the kernel-routing baseline). */
  forwarding?: boolean;
  /** Default 'plain'. */
  topology?: Topology;
  /** The family the run sends (default 4): the snooping bridge is settled for it. Every link has both. */
  family?: Family;
  /** Output links from the relay namespace to the sink namespace (default 1, at most MAX_OUTPUTS): link i on 10.251.<2+i>.0/24. */
  outputs?: number;
}

export function newPrefix(): string {
  return `mcr${randomBytes(2).toString('hex')}`;
}

/** Namespaces of live topologies in this process, destroyed on SIGINT/SIGTERM. */
const live = new Map<string, () => Promise<void>>();
let handlersInstalled = false;

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      void Promise.all([...live.values()].map((destroy) => destroy())).finally(() => process.exit(128 + number));
    });
  }
}

async function killNamespaceProcesses(ns: string): Promise<void> {
  // Processes inside our namespaces are ours by construction.
  const pids = (await $`ip netns pids ${ns}`.catch(() => ({ stdout: '' }))).stdout.split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Wait (briefly) until they are gone, so nothing of ours outlives destroy().
  for (let waited = 0; waited < 2000 && pids.some((pid) => isAlive(pid)); waited += 10) await sleep(10);
}

async function deleteNamespaces(namespaces: string[]): Promise<void> {
  for (const ns of namespaces) {
    await killNamespaceProcesses(ns);
    await $`ip netns del ${ns}`.catch(() => undefined);
  }
}

async function namespaceList(): Promise<Set<string>> {
  const { stdout } = await $`ip netns list`.catch(() => ({ stdout: '' }));
  return new Set(stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean));
}

/** Removes namespaces recorded by runs whose process is gone. Never touches a live run's. */
export async function sweepLeftovers(): Promise<string[]> {
  const swept: string[] = [];
  const existing = await namespaceList();
  for (const record of ownerRecords()) {
    if (record.pid !== process.pid && isAlive(record.pid, record.startTime)) continue;
    if (record.pid === process.pid && live.has(record.prefix)) continue;
    const present = record.namespaces.filter((ns) => existing.has(ns));
    await deleteNamespaces(present);
    forgetOwner(record.prefix);
    swept.push(...present);
  }
  return swept;
}

/** Creates namespaces under an ownership record and returns an idempotent destroy. */
export async function withNamespaces(prefix: string, roles: string[]): Promise<{ names: string[]; destroy: () => Promise<void> }> {
  if (!/^[a-z0-9]{1,9}$/.test(prefix)) throw new Error(`topology prefix '${prefix}' must be 1-9 lowercase letters or digits (interface names must fit 15 characters)`);
  await sweepLeftovers();
  const existing = await namespaceList();
  const names = roles.map((r) => `${prefix}-${r}`);
  const taken = names.filter((ns) => existing.has(ns));
  if (live.has(prefix) || ownerRecords().some((r) => r.prefix === prefix) || taken.length) {
    throw new Error(`topology prefix '${prefix}' is in use${taken.length ? ` (namespaces ${taken.join(', ')} exist)` : ''}`);
  }
  recordOwner({ prefix, pid: process.pid, startTime: processStartTime(process.pid), namespaces: names, created: new Date().toISOString() });
  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      live.delete(prefix);
      await deleteNamespaces(names).catch(() => undefined);
      forgetOwner(prefix);
    })();
    return destroyed;
  };
  live.set(prefix, destroy);
  installSignalHandlers();
  try {
    for (const ns of names) {
      await $`ip netns add ${ns}`;
      await $`ip -n ${ns} link set lo up`;
      // No duplicate address detection for interfaces made here later: a tentative link-local
      // address cannot source MLD reports or the bridge's MLD queries (MLD must come from a
      // link-local address: ipv6_mc_check_mld), so joins would go unseen for the first second or
      // two. Inside our own namespace only.
      await $`ip netns exec ${ns} sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0`;
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { names, destroy };
}

async function veth(a: Host, b: Host, mtu?: number): Promise<void> {
  await $`ip link add ${a.ifname} netns ${a.ns} type veth peer name ${b.ifname} netns ${b.ns}`;
  for (const end of [a, b]) {
    if (mtu) await $`ip -n ${end.ns} link set ${end.ifname} mtu ${String(mtu)}`;
    await $`ip -n ${end.ns} link set ${end.ifname} up`;
  }
}

async function address(host: Host): Promise<void> {
  await $`ip -n ${host.ns} addr add ${host.addr}/24 dev ${host.ifname}`;
  // nodad: usable at once, no tentative phase.
  await $`ip -n ${host.ns} addr add ${host.addr6}/64 dev ${host.ifname} nodad`;
}

/** A bridge in host.ns with port enslaved; the bridge takes the host's address and name. */
async function bridgeOver(host: Host, port: string): Promise<void> {
  await $`ip -n ${host.ns} link add ${host.ifname} type bridge mcast_snooping 0`;
  await $`ip -n ${host.ns} link set ${port} master ${host.ifname}`;
  // The bridge is the host; a port with IPv6 of its own would send its own MLD reports and route
  // multicast straight out of the port, around the bridge.
  await sysctl(host.ns, `net.ipv6.conf.${port}.disable_ipv6`, 1);
  await $`ip -n ${host.ns} link set ${host.ifname} up`;
}

async function looseReversePath(ns: string, ifnames: string[]): Promise<void> {
  for (const scope of ['all', 'default', ...ifnames]) await sysctl(ns, `net.ipv4.conf.${scope}.rp_filter`, 0);
}

/** gen ns —veth— relay ns —veth— sink ns; with topology 'snooping' the generator sends through a snooping bridge. */
export async function createChain(options: ChainOptions = {}): Promise<Chain> {
  const prefix = options.prefix ?? newPrefix();
  const topology = options.topology ?? 'plain';
  const outputCount = options.outputs ?? 1;
  if (!Number.isInteger(outputCount) || outputCount < 1 || outputCount > MAX_OUTPUTS) throw new Error(`a chain has 1 to ${MAX_OUTPUTS} output links (MAXVIFS 32 less the input), not ${outputCount}`);
  if (options.bridge && outputCount > 1) throw new Error('bridged relay-side ends are built for one output link only');
  const { names, destroy } = await withNamespaces(prefix, ['gen', 'relay', 'sink']);
  const [genNs, relayNs, sinkNs] = names;
  const gen: Host = { ns: genNs, ifname: topology === 'snooping' ? `${prefix}gb` : `${prefix}g0`, addr: '10.251.1.2', addr6: 'fd00:251:1::2' };
  const relayIn: Host = { ns: relayNs, ifname: options.bridge ? `${prefix}bi` : `${prefix}ri`, addr: '10.251.1.1', addr6: 'fd00:251:1::1' };
  const relayOut: Host = { ns: relayNs, ifname: options.bridge ? `${prefix}bo` : `${prefix}ro`, addr: '10.251.2.1', addr6: 'fd00:251:2::1' };
  const sink: Host = { ns: sinkNs, ifname: `${prefix}s0`, addr: '10.251.2.2', addr6: 'fd00:251:2::2' };
  // Further output links: relay side <prefix>ro<i>, sink side <prefix>s<i>, all in the sink namespace.
  const extra = Array.from({ length: outputCount - 1 }, (_, j) => {
    const i = j + 1;
    const link = 2 + i;
    return { relayOut: { ns: relayNs, ifname: `${prefix}ro${i}`, addr: `10.251.${link}.1`, addr6: `fd00:251:${link}::1` }, sink: { ns: sinkNs, ifname: `${prefix}s${i}`, addr: `10.251.${link}.2`, addr6: `fd00:251:${link}::2` } };
  });
  let segment: SnoopingSegment | undefined;
  try {
    await veth({ ...gen, ifname: `${prefix}g0` }, { ...relayIn, ifname: `${prefix}ri` }, options.mtu);
    await veth({ ...relayOut, ifname: `${prefix}ro` }, sink, options.mtu);
    for (const o of extra) await veth(o.relayOut, o.sink, options.mtu);
    if (topology === 'snooping') await bridgeOver(gen, `${prefix}g0`); // made snooping by makeSnooping below
    if (options.bridge) {
      await bridgeOver(relayIn, `${prefix}ri`);
      await bridgeOver(relayOut, `${prefix}ro`);
    }
    for (const host of [gen, relayIn, relayOut, sink, ...extra.flatMap((o) => [o.relayOut, o.sink])]) await address(host);
    // The generator's multicast leaves through its veth; the sink routes back to the generator's
    // subnet through the relay, so packets the kernel forwards (original source kept) pass RPF.
    await $`ip -n ${gen.ns} route add 224.0.0.0/4 dev ${gen.ifname}`;
    await $`ip -n ${sink.ns} route add 10.251.1.0/24 via ${relayOut.addr}`;
    // The same for IPv6 (it has no rp_filter, but a reply or a traceroute finds its way back).
    await $`ip -n ${gen.ns} -6 route add ff00::/8 dev ${gen.ifname}`;
    await $`ip -n ${sink.ns} -6 route add fd00:251:1::/64 via ${relayOut.addr6}`;
    await looseReversePath(relayNs, [relayIn.ifname, relayOut.ifname, ...extra.map((o) => o.relayOut.ifname)]);
    await looseReversePath(sinkNs, [sink.ifname, ...extra.map((o) => o.sink.ifname)]);
    if (options.forwarding) {
      await sysctl(relayNs, 'net.ipv4.ip_forward', 1);
      await sysctl(relayNs, 'net.ipv6.conf.all.forwarding', 1);
    }
    if (topology === 'snooping') segment = await makeSnooping(gen.ns, gen.ifname, `${prefix}g0`, { 4: gen.addr, 6: gen.addr6 }, options.family ?? 4);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { prefix, topology, segment, gen, relayIn, relayOut, sink, outputs: [{ relayOut, sink }, ...extra], destroy };
}

/** gen ns —veth— sink ns: the instrument alone, for calibration. */
export async function createPair(options: { prefix?: string; mtu?: number } = {}): Promise<Pair> {
  const prefix = options.prefix ?? newPrefix();
  const { names, destroy } = await withNamespaces(prefix, ['gen', 'sink']);
  const gen: Host = { ns: names[0], ifname: `${prefix}g0`, addr: '10.251.1.2', addr6: 'fd00:251:1::2' };
  const sink: Host = { ns: names[1], ifname: `${prefix}s0`, addr: '10.251.1.3', addr6: 'fd00:251:1::3' };
  try {
    await veth(gen, sink, options.mtu);
    await address(gen);
    await address(sink);
    await $`ip -n ${gen.ns} route add 224.0.0.0/4 dev ${gen.ifname}`;
    await $`ip -n ${gen.ns} -6 route add ff00::/8 dev ${gen.ifname}`;
    await looseReversePath(sink.ns, [sink.ifname]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { prefix, gen, sink, destroy };
}
