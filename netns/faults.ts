// Faults a plant throws at the relay's input link, done to one of our own chains.
import { $ } from 'zx';
import { sysctl } from './sysctl.js';
import type { Chain } from './topology.js';

/** Takes the relay's input link down for `ms`, then up again (same interface, same ifindex). */
export async function flapRelayInput(chain: Chain, ms: number): Promise<void> {
  await $`ip -n ${chain.relayIn.ns} link set ${chain.relayIn.ifname} down`;
  await new Promise((resolve) => setTimeout(resolve, ms));
  await $`ip -n ${chain.relayIn.ns} link set ${chain.relayIn.ifname} up`;
}

/**
 * Deletes the relay's input veth and creates it again under the same names and address (a
 * container restart, a VPN or VLAN re-created): the relay sees a new ifindex. Needs the snooping
 * topology, where the generator sends into a bridge that outlives the veth; the new port gets the
 * same snooping settings, so traffic reaches the relay again only once it re-joins its groups.
 */
export async function recreateRelayInput(chain: Chain): Promise<void> {
  const segment = chain.segment;
  if (!segment) throw new Error('re-creating the input link needs --topology snooping (the generator must send through a bridge that stays)');
  const { relayIn } = chain;
  await $`ip -n ${relayIn.ns} link del ${relayIn.ifname}`;
  await $`ip link add ${relayIn.ifname} netns ${relayIn.ns} type veth peer name ${segment.relayPort} netns ${segment.ns}`;
  await $`ip -n ${segment.ns} link set ${segment.relayPort} master ${segment.bridge}`;
  await $`ip netns exec ${segment.ns} bridge link set dev ${segment.relayPort} mcast_flood off`;
  // As createChain's bridge port: no IPv6 of its own (the bridge is the host).
  await sysctl(segment.ns, `net.ipv6.conf.${segment.relayPort}.disable_ipv6`, 1);
  await $`ip -n ${segment.ns} link set ${segment.relayPort} up`;
  await $`ip -n ${relayIn.ns} addr add ${relayIn.addr}/24 dev ${relayIn.ifname}`;
  await $`ip -n ${relayIn.ns} addr add ${relayIn.addr6}/64 dev ${relayIn.ifname} nodad`;
  await sysctl(relayIn.ns, `net.ipv4.conf.${relayIn.ifname}.rp_filter`, 0);
  await $`ip -n ${relayIn.ns} link set ${relayIn.ifname} up`;
}
