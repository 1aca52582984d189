// The frames egress (the default): the relay builds each frame itself on an AF_PACKET socket.
// What goes on the wire (the group's MAC, the output's own MAC and address, checksums a receiver
// verifies), no neighbour entry per group (the UDP egress as the control), and an output link
// whose address, MTU, MAC or state changes followed within a second.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { runGenerator } from '../../harness/src/generator.js';
import { startSink } from '../../harness/src/sink.js';
import { planStreams, type Family, type StreamPlan } from '../../harness/src/streams.js';
import { udpChecksumErrors } from '../../harness/src/contenders/procnet.js';
import { endpoint } from '../../relay/src/api.js';
import { capture } from './capture.js';
import { announceSkip, skipReason } from './env.js';
import { ruleFor, startRig, type Rig } from './relay-rig.js';

const reason = skipReason(['tcpdump', 'ethtool']);
announceSkip('frames egress integration', reason);

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.destroy();
  rig = undefined;
});

type Totals = { tx: number; txErrors: number; txNoSource: number };

async function withRules(args: string[], n: number, family: Family = 4): Promise<StreamPlan[]> {
  rig = await startRig(args, { family });
  const plans = planStreams(n, family);
  await rig.mcrd.client.request('apply', { add: plans.map((s) => ruleFor(rig!.chain, s)) });
  return plans;
}

/** Sends count packets per stream and returns what the sink counted per stream. */
async function burst(plans: StreamPlan[], options: { count?: number; rate?: number; size?: number; runId: number }) {
  const c = rig!.chain;
  const count = options.count ?? 200;
  const rate = options.rate ?? 1000;
  const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: plans.map((p) => endpoint(p.outGroup, p.outPort)), runId: options.runId, idleTimeoutMs: 800, maxWaitMs: (count * 1000) / rate + 5000 });
  await runGenerator(c.gen.ns, { interface: c.gen.ifname, streams: plans.map((p) => endpoint(p.inGroup, p.inPort)), rate, count, size: options.size ?? 256, runId: options.runId });
  return (await sink.done).streams;
}

const totals = async () => (await rig!.mcrd.client.request<{ totals: Totals }>('stats')).totals;
const linkMac = async (ns: string, ifname: string) => (JSON.parse((await $`ip -n ${ns} -j link show ${ifname}`).stdout) as { address: string }[])[0].address;
/** Neighbour entries for the output groups (239.2.x.y) on an interface, of any state (multicast ones are NOARP). */
const groupNeighbours = async (ns: string, ifname: string) => (await $`ip -n ${ns} -4 neigh show nud all dev ${ifname}`).stdout.split('\n').filter((l) => l.startsWith('239.2.')).length;

describe.skipIf(reason)('frames egress', () => {
  it("sends from the output's own MAC and address to the group's MAC, and makes no neighbour entry; the UDP egress makes one per group", async () => {
    const plans = await withRules(['--workers', '1'], 20);
    const c = rig!.chain;
    const wire = await capture(c.sink.ns, c.sink.ifname, ['-e', 'udp']);
    const got = await burst(plans, { runId: 61 });
    const lines = await wire.stop();
    expect(got.every((s) => s.unique === 200 && s.duplicates === 0)).toBe(true);
    const mac = await linkMac(c.relayOut.ns, c.relayOut.ifname);
    // e.g. "aa:bb:..:ff > 01:00:5e:02:00:01, ethertype IPv4 (0x0800), length 298: 10.251.2.1.5000 > 239.2.0.1.5000: UDP, length 256"
    // (a GSO run crosses the veth whole, as one line: fewer lines than datagrams).
    const frames = lines.filter((l) => l.includes('> 239.2.'));
    expect(frames.length).toBeGreaterThan(20);
    for (const l of frames) {
      const [, src, dst, ipSrc, group] = /^\S+ (\S+) > (\S+), .*: (\d+\.\d+\.\d+\.\d+)\.\d+ > (239\.\d+\.\d+\.\d+)\./.exec(l)!;
      expect(src).toBe(mac);
      expect(ipSrc).toBe(c.relayOut.addr);
      const [, b, cc, d] = group.split('.').map(Number);
      expect(dst).toBe(`01:00:5e:${[b & 0x7f, cc, d].map((x) => x.toString(16).padStart(2, '0')).join(':')}`);
    }
    expect(await groupNeighbours(c.relayOut.ns, c.relayOut.ifname)).toBe(0);
    await rig!.destroy();

    // The control: through the IP stack, every group sent to leaves a neighbour entry.
    const udp = await withRules(['--workers', '1', '--egress', 'udp'], 20);
    expect((await burst(udp, { runId: 62 })).every((s) => s.unique === 200)).toBe(true);
    expect(await groupNeighbours(rig!.chain.relayOut.ns, rig!.chain.relayOut.ifname)).toBe(20);
  });

  it('--egress frames-direct hands frames past the qdisc: a tc shaper that frames (the default) obey no longer applies', async () => {
    const shaped = async (egress: string, runId: number) => {
      const plans = await withRules(['--workers', '1', '--egress', egress], 1);
      const c = rig!.chain;
      await $`ip netns exec ${c.relayOut.ns} tc qdisc add dev ${c.relayOut.ifname} root tbf rate 1mbit burst 16kbit latency 20ms`;
      const got = (await burst(plans, { runId, count: 2000, rate: 2000, size: 1000 }))[0].unique;
      await rig!.destroy();
      rig = undefined;
      return got;
    };
    // 16 Mbit/s offered into a 1 Mbit/s shaper: most is dropped there, unless the qdisc is bypassed.
    expect(await shaped('frames', 70)).toBeLessThan(1000);
    expect(await shaped('frames-direct', 71)).toBe(2000);
  });

  it.each([4, 6] as const)('IPv%i checksums are right where the device leaves them to software (tx offload off), odd lengths and GSO runs included', async (family) => {
    const plans = await withRules(['--workers', '1'], 2, family);
    const c = rig!.chain;
    // Without checksum offload the kernel finishes each checksum from the seed the relay wrote, and
    // the receiver verifies it: a wrong seed would be dropped as a checksum error, not delivered.
    await $`ip netns exec ${c.relayOut.ns} ethtool -K ${c.relayOut.ifname} tx off`;
    const before = await udpChecksumErrors(c.sink.ns, family);
    for (const [size, rate, runId] of [[511, 1000, 63], [1024, 20000, 64]]) {
      const got = await burst(plans, { size, rate, count: 2000, runId });
      expect(got.map((s) => [s.unique, s.corrupted])).toEqual([[2000, 0], [2000, 0]]);
    }
    expect(await udpChecksumErrors(c.sink.ns, family)).toBe(before);
    expect((await totals()).txErrors).toBe(0);
  });

  it('follows the output link within a second: address removed (nothing sent, counted) and back (at once), MTU lowered, MAC changed, down and up', async () => {
    const plans = await withRules(['--workers', '1'], 1);
    const c = rig!.chain;
    const out = (cmd: string) => $`ip -n ${c.relayOut.ns} ${cmd.split(' ')}`;
    const settle = () => sleep(1000);

    await out(`addr del ${c.relayOut.addr}/24 dev ${c.relayOut.ifname}`);
    await settle();
    const wire = await capture(c.sink.ns, c.sink.ifname, ['udp']);
    expect((await burst(plans, { runId: 65 }))[0].unique).toBe(0);
    expect(await wire.stop()).toEqual([]); // no frame from a wrong (or no) source
    expect((await totals()).txNoSource).toBe(200);
    // An address added is used from the next packet on, not a refresh period later.
    await out(`addr add ${c.relayOut.addr}/24 dev ${c.relayOut.ifname}`);
    expect((await burst(plans, { runId: 66 }))[0].unique).toBe(200);

    // A datagram that no longer fits one frame goes through the UDP socket and is fragmented.
    await out(`link set ${c.relayOut.ifname} mtu 1000`);
    await settle();
    expect((await burst(plans, { runId: 67, size: 1200 }))[0]).toMatchObject({ unique: 200, corrupted: 0 });
    expect((await totals()).txErrors).toBe(200); // the 200 without a source, no more
    await out(`link set ${c.relayOut.ifname} mtu 1500`);

    await out(`link set ${c.relayOut.ifname} address 02:00:00:00:be:ef`);
    await settle();
    const macs = await capture(c.sink.ns, c.sink.ifname, ['-e', 'udp']);
    expect((await burst(plans, { runId: 68 }))[0].unique).toBe(200);
    expect(new Set((await macs.stop()).map((l) => l.split(' ')[1]))).toEqual(new Set(['02:00:00:00:be:ef']));

    await out(`link set ${c.relayOut.ifname} down`);
    await out(`link set ${c.relayOut.ifname} up`);
    await settle();
    expect((await burst(plans, { runId: 69 }))[0].unique).toBe(200);
  });
});
