// IPv6 on the topologies: every host has its ULA address usable at once (no DAD), the routes the
// kernel contender needs, and the snooping bridge snoops MLD: a joined ff15:: group is listed behind
// the relay's port and delivered in full, an unjoined one is not flooded there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { createChain, type Chain, type Host } from '../../netns/topology.js';
import { runGenerator } from '../../harness/src/generator.js';
import { startSink } from '../../harness/src/sink.js';
import { endpoint } from '../../relay/src/api.js';
import { announceSkip, noMulticastRouting, skipReason } from './env.js';

const reason = skipReason(['bridge']);
announceSkip('IPv6 topology integration', reason);
const noRouting = noMulticastRouting(6);
announceSkip('the IPv6 multicast routing table check', noRouting);

interface AddrInfo { family: string; local: string; prefixlen: number; tentative?: boolean; dadfailed?: boolean }

async function ipv6Addresses(host: Host): Promise<AddrInfo[]> {
  const { stdout } = await $`ip -n ${host.ns} -j -6 addr show dev ${host.ifname}`;
  return (JSON.parse(stdout) as { addr_info: AddrInfo[] }[])[0].addr_info;
}

async function rxPackets(host: Host): Promise<number> {
  const { stdout } = await $`ip -n ${host.ns} -s -j link show ${host.ifname}`;
  return (JSON.parse(stdout) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
}

describe.skipIf(reason)('IPv6 on the chain', () => {
  let chain: Chain;
  beforeAll(async () => {
    chain = await createChain({ topology: 'snooping', family: 6, forwarding: true });
  });
  afterAll(async () => {
    await chain?.destroy();
  });

  it('gives every host a ULA /64 and a link-local address, neither tentative, and the routes', async () => {
    const hosts = [chain.gen, chain.relayIn, chain.relayOut, chain.sink];
    expect(hosts.map((h) => h.addr6)).toEqual(['fd00:251:1::2', 'fd00:251:1::1', 'fd00:251:2::1', 'fd00:251:2::2']);
    for (const host of hosts) {
      const addrs = await ipv6Addresses(host);
      expect(addrs.find((a) => a.local === host.addr6), host.ifname).toMatchObject({ prefixlen: 64 });
      expect(addrs.some((a) => a.local.startsWith('fe80:')), `${host.ifname} link-local`).toBe(true);
      expect(addrs.filter((a) => a.tentative || a.dadfailed), host.ifname).toEqual([]);
    }
    // The generator's multicast leaves by its interface; the sink reaches the source's subnet through the relay.
    expect((await $`ip -n ${chain.gen.ns} -6 route show ff00::/8 table main`).stdout).toContain(`dev ${chain.gen.ifname}`);
    expect((await $`ip -n ${chain.sink.ns} -6 route get ${chain.gen.addr6}`).stdout).toContain(`via ${chain.relayOut.addr6} dev ${chain.sink.ifname}`);
    // IPv6 multicast forwarding for the kernel contender: the sysctl and the kernel's IPv6 mroute table.
    expect((await $`ip netns exec ${chain.relayIn.ns} sysctl -n net.ipv6.conf.all.forwarding`).stdout.trim()).toBe('1');
    // (on a kernel built without it there is no table to see: said at the top, not failed)
    if (!noRouting) expect((await $`ip netns exec ${chain.relayIn.ns} cat /proc/net/ip6_mr_cache`).stdout).toMatch(/^Group/);
  });

  it('the snooping bridge lists an MLD join behind the relay port, delivers that group in full and floods no other', async () => {
    expect(chain.segment!.settledMs).toBeGreaterThan(0);
    const [joined, other] = ['ff15::1:1', 'ff15::1:2'];
    // A receiver in the relay's namespace joins one group with MLD, as the relay would.
    const sink = await startSink(chain.relayIn.ns, { interface: chain.relayIn.ifname, streams: [endpoint(joined, 5000)], runId: 67, idleTimeoutMs: 500, maxWaitMs: 30_000 });
    const seen = await chain.segment!.waitForJoins([joined], 5000);
    expect(seen.has(joined)).toBe(true);
    expect(seen.has(other)).toBe(false);
    const before = await rxPackets(chain.relayIn);
    const gen = await runGenerator(chain.gen.ns, { interface: chain.gen.ifname, streams: [joined, other].map((g) => endpoint(g, 5000)), rate: 1000, count: 300, runId: 67 });
    const got = await sink.done;
    const arrived = (await rxPackets(chain.relayIn)) - before;
    expect(gen.streams.map((s) => s.sent)).toEqual([300, 300]);
    expect(got.streams[0].unique).toBe(300);
    // The joined group's 300, and at most a few MLD queries: none of the other group's 300.
    expect(arrived).toBeGreaterThanOrEqual(300);
    expect(arrived).toBeLessThan(310);
  });

  it('tears down twice without complaint', async () => {
    const extra = await createChain({ family: 6 });
    await extra.destroy();
    await extra.destroy();
    expect((await $`ip netns list`).stdout).not.toContain(extra.prefix);
  });
});
