// What the baselines (socat, kernel routing with smcroute) do, for the README's comparison table:
// - source-specific multicast: two sources send to one group; socat with a source-specific
//   membership and smcroute with an (S,G) route must deliver one source's stream only. Each has
//   its any-source form as the control, which lets the other source through.
// - VLAN-tagged frames on the parent interface (no VLAN device for them): whether the IP stack
//   takes them, with the untagged copy of the same frames as the control.
// - Two socat feeding each other's groups: whether one packet dies out or circulates.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { udpInDatagrams, udpSocketCount, multicastRoutes } from '../../harness/src/contenders/procnet.js';
import { frame } from '../../harness/src/frames.js';
import { runGenerator } from '../../harness/src/generator.js';
import { startSink } from '../../harness/src/sink.js';
import { nsSpawn } from '../../netns/spawn.js';
import { createChain, createPair, type Chain, type Pair } from '../../netns/topology.js';
import { announceSkip, noMulticastRouting, skipReason } from './env.js';
import { injectFrames } from './inject.js';
import { until } from './until.js';

const reason = skipReason(['socat', 'smcrouted']);
announceSkip('baselines with source-specific multicast', reason);
const noRouting = noMulticastRouting();
announceSkip('the kernel-routing baselines', noRouting);

const GROUP = '232.1.1.1';
const PORT = 5000;
const OTHER_SOURCE = '10.251.1.3';

let chain: Chain | undefined;
let child: ReturnType<typeof nsSpawn> | undefined;
afterEach(async () => {
  child?.kill('SIGTERM');
  await child?.catch(() => undefined);
  await chain?.destroy();
  child = undefined;
  chain = undefined;
});

/** An IPv4 address as socat's binary option bytes, network order: 232.1.1.1 -> e8010101. */
function hexAddress(address: string): string {
  return address.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
}

/** Both sources send 1000 packets to GROUP (runs 81 and 82); what the sink counted of run 81 on `stream`. */
async function twoSources(c: Chain, stream: string) {
  const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: [stream], runId: 81, idleTimeoutMs: 1000, maxWaitMs: 20_000 });
  await Promise.all(
    [c.gen.addr, OTHER_SOURCE].map((source, i) => runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: [`${GROUP}:${PORT}`], rate: 1000, count: 1000, size: 200, runId: 81 + i, source })),
  );
  const got = await sink.done;
  return { unique: got.streams[0].unique, foreign: got.foreign };
}

describe.skipIf(reason)('baselines with source-specific multicast (two sources, one group)', () => {
  it.each([
    // Debian's socat 1.7.4.4 has no ip-add-source-membership: the raw IP_ADD_SOURCE_MEMBERSHIP
    // (IPPROTO_IP 0, option 39) with struct ip_mreq_source {group, interface, source}, set before bind.
    ['source-specific membership', `setsockopt-listen=0:39:x${hexAddress(GROUP)}${hexAddress('10.251.1.1')}${hexAddress('10.251.1.2')}`, 0],
    ['any-source membership (control)', `ip-add-membership=${GROUP}:10.251.1.1`, 1000],
  ])('socat, %s', async (_what, membership, foreign) => {
    const c = (chain = await createChain());
    await $`ip -n ${c.gen.ns} addr add ${OTHER_SOURCE}/24 dev ${c.gen.ifname}`;
    child = nsSpawn(c.relayIn.ns, 'socat', ['-u', `UDP4-RECV:${PORT},bind=${GROUP},reuseaddr,${membership}`, `UDP4-DATAGRAM:239.2.0.1:${PORT},ip-multicast-if=${c.relayOut.addr},ip-multicast-ttl=8,ip-multicast-loop=0`], { reject: false });
    const exited = child.then((r: { exitCode?: number; stderr?: unknown }) => `socat exited ${r.exitCode}: ${String(r.stderr).trim()}`);
    await Promise.race([until('socat to bind', async () => (await udpSocketCount(c.relayIn.ns, PORT)) >= 1, 10_000, 50), exited.then((why: string) => Promise.reject(new Error(why)))]);
    expect(await twoSources(c, `239.2.0.1:${PORT}`)).toEqual({ unique: 1000, foreign });
  });

  it.skipIf(noRouting).each([
    ['an (S,G) route and a source-specific join', `mroute from IF source 10.251.1.2 group ${GROUP} to OUT\nmgroup from IF source 10.251.1.2 group ${GROUP}`, 0],
    ['a (*,G) route (control)', `mroute from IF group ${GROUP} to OUT\nmgroup from IF group ${GROUP}`, 1000],
  ])('kernel routing (smcroute), %s', async (_what, routes, foreign) => {
    const c = (chain = await createChain({ forwarding: true }));
    await $`ip -n ${c.gen.ns} addr add ${OTHER_SOURCE}/24 dev ${c.gen.ifname}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-ssm-'));
    const conf = path.join(dir, 'smcroute.conf');
    writeFileSync(conf, `phyint ${c.relayIn.ifname} enable\nphyint ${c.relayOut.ifname} enable\n${routes.replaceAll('IF', c.relayIn.ifname).replaceAll('OUT', c.relayOut.ifname)}\n`);
    child = nsSpawn(c.relayIn.ns, 'smcrouted', ['-n', '-N', '-f', conf, '-i', `mcr-${c.prefix}`, '-u', path.join(dir, 'smcroute.sock'), '-P', path.join(dir, 'smcroute.pid'), '-l', 'notice'], { reject: false });
    // An (S,G) route is installed at once; a (*,G) one when the first packet asks for it.
    if (routes.includes('source')) await until('the (S,G) route', async () => (await multicastRoutes(c.relayIn.ns)).length >= 1, 10_000, 50);
    else await sleep(1000);
    expect(await twoSources(c, `${GROUP}:${PORT}`)).toEqual({ unique: 1000, foreign });
  });
});

/** frames.ts leaves the IPv4 header checksum 0 (the relay never checks it); the IP stack does. */
function withHeaderChecksum(f: Buffer): Buffer {
  let ip = 12;
  while (f.readUInt16BE(ip) === 0x8100 || f.readUInt16BE(ip) === 0x88a8) ip += 4;
  ip += 2;
  const ihl = (f[ip] & 0x0f) * 4;
  let sum = 0;
  for (let i = ip; i < ip + ihl; i += 2) sum += i === ip + 10 ? 0 : f.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  f.writeUInt16BE(~sum & 0xffff, ip + 10);
  return f;
}

describe.skipIf(reason)('baselines with VLAN-tagged frames on the parent interface', () => {
  // 239.1.0.1:5000 from the generator's address, 100 times: tagged VLAN 7, then untagged (control).
  const to = { src: [10, 251, 1, 2], dst: [239, 1, 0, 1], payload: 100 };
  const tagged = withHeaderChecksum(frame({ ...to, tags: [[0x8100, 7]] }));
  const untagged = withHeaderChecksum(frame(to));

  it('socat: takes none of the tagged frames, all of the untagged ones', async () => {
    const c = (chain = await createChain());
    child = nsSpawn(c.relayIn.ns, 'socat', ['-u', `UDP4-RECV:${PORT},bind=239.1.0.1,reuseaddr,ip-add-membership=239.1.0.1:${c.relayIn.ifname}`, `UDP4-DATAGRAM:239.2.0.1:${PORT},ip-multicast-if=${c.relayOut.addr}`], { reject: false });
    await until('socat to bind', async () => (await udpSocketCount(c.relayIn.ns, PORT)) >= 1, 10_000, 50);
    const before = await udpInDatagrams(c.relayIn.ns);
    await injectFrames(c.gen.ns, c.gen.ifname, [tagged], 100);
    await sleep(300);
    const afterTagged = await udpInDatagrams(c.relayIn.ns);
    await injectFrames(c.gen.ns, c.gen.ifname, [untagged], 100);
    await sleep(300);
    expect({ tagged: afterTagged - before, untagged: (await udpInDatagrams(c.relayIn.ns)) - afterTagged }).toEqual({ tagged: 0, untagged: 100 });
  });

  it.skipIf(noRouting)('kernel routing (smcroute): forwards none of the tagged frames, all of the untagged ones', async () => {
    const c = (chain = await createChain({ forwarding: true }));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-vlan-'));
    const conf = path.join(dir, 'smcroute.conf');
    writeFileSync(conf, `phyint ${c.relayIn.ifname} enable\nphyint ${c.relayOut.ifname} enable\nmroute from ${c.relayIn.ifname} source ${c.gen.addr} group 239.1.0.1 to ${c.relayOut.ifname}\n`);
    child = nsSpawn(c.relayIn.ns, 'smcrouted', ['-n', '-N', '-f', conf, '-i', `mcr-${c.prefix}`, '-u', path.join(dir, 'smcroute.sock'), '-P', path.join(dir, 'smcroute.pid'), '-l', 'notice'], { reject: false });
    await until('the (S,G) route', async () => (await multicastRoutes(c.relayIn.ns)).length >= 1, 10_000, 50);
    const forwarded = async () => (await multicastRoutes(c.relayIn.ns)).reduce((n, e) => n + e.packets, 0);
    const before = await forwarded();
    await injectFrames(c.gen.ns, c.gen.ifname, [tagged], 100);
    await sleep(300);
    const afterTagged = await forwarded();
    await injectFrames(c.gen.ns, c.gen.ifname, [untagged], 100);
    await sleep(300);
    expect({ tagged: afterTagged - before, untagged: (await forwarded()) - afterTagged }).toEqual({ tagged: 0, untagged: 100 });
  });
});

describe.skipIf(reason)('two socat feeding each other', () => {
  it('one packet of TTL 8 circulates: each hop sends it with its own TTL again', async () => {
    const pair: Pair = await createPair();
    const children: ReturnType<typeof nsSpawn>[] = [];
    try {
      // A (gen ns) relays G1 -> G2 on its only link; B (sink ns) relays G2 -> G1 on the other end.
      for (const [host, from, to] of [[pair.gen, '239.77.0.1', '239.77.0.2'], [pair.sink, '239.77.0.2', '239.77.0.1']] as const) {
        children.push(nsSpawn(host.ns, 'socat', ['-u', `UDP4-RECV:${PORT},bind=${from},reuseaddr,ip-add-membership=${from}:${host.ifname}`, `UDP4-DATAGRAM:${to}:${PORT},ip-multicast-if=${host.addr},ip-multicast-ttl=8,ip-multicast-loop=0`], { reject: false }));
        await until(`socat in ${host.ns} to bind`, async () => (await udpSocketCount(host.ns, PORT)) >= 1, 10_000, 50);
      }
      const before = await Promise.all([pair.gen.ns, pair.sink.ns].map((ns) => udpInDatagrams(ns)));
      // One packet of G1 with TTL 8, sent from B's side: A picks it up.
      await runGenerator(pair.sink.ns, { interface: pair.sink.ifname, streams: [`239.77.0.1:${PORT}`], rate: 10, count: 1, size: 100, ttl: 8, runId: 83 });
      await sleep(1000);
      const after = await Promise.all([pair.gen.ns, pair.sink.ns].map((ns) => udpInDatagrams(ns)));
      const received = after[0] - before[0] + after[1] - before[1];
      // The relay's own test: 8 hops, then it expires. Here: still going after a second.
      console.log(`two socat feeding each other: ${received} datagrams received in 1 s from one packet`);
      expect(received).toBeGreaterThan(1000);
    } finally {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => c.catch(() => undefined)));
      await pair.destroy();
    }
  });
});
