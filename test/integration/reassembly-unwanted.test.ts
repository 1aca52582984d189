// IPv6 reassembly only for traffic a rule wants (issue 21, item 4). The worker's reassembly table
// has 64 slots; when all are taken the oldest incomplete datagram is evicted. A sender rotating
// fragment ids to groups no rule takes used to fill it, evicting real datagrams in the making.
// Here mcrd (one worker, so every frame meets the same table) gets real fragmented datagrams of a
// group its rule takes, and between the first fragment of each and the rest, 80 fragments (more
// than the table's 64 slots) to unrelated groups, each with an identification of its own: first
// fragments (which carry a port) and later ones (which do not) alike, and fragments to the group
// of a source-specific rule from another source. Every real datagram must arrive, and the flood
// must be counted, never taking a slot.
import { afterEach, describe, expect, it } from 'vitest';
import { fragments6, frame6 } from '../../harness/src/frames.js';
import { encodePayload } from '../../harness/src/payload.js';
import { startSink } from '../../harness/src/sink.js';
import { planStreams } from '../../harness/src/streams.js';
import { endpoint } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';
import { injectFrames } from './inject.js';
import { ruleFor, startRig, type Rig } from './relay-rig.js';

const reason = skipReason();
announceSkip('unwanted IPv6 fragments integration', reason);

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.destroy();
  rig = undefined;
});

type Totals = { matched: number; fragments: number; reassembled: number; reassemblyEvicted: number; fragmentsUnwanted?: number; kernelDrops: number };

describe.skipIf(reason)('IPv6 reassembly under a flood of fragments no rule wants', () => {
  it('every real fragmented datagram is delivered; the flood is dropped and counted before it takes a slot', async () => {
    rig = await startRig(['--workers', '1']);
    const c = rig.chain;
    const [s] = planStreams(1, 6);
    await rig.mcrd.client.request('add', { rule: ruleFor(c, s) });
    // Source-specific: only the generator's address is wanted for this group.
    const ssmGroup = 'ff15::1:77';
    await rig.mcrd.client.request('add', { rule: { ...ruleFor(c, s), name: 'ssm', inputSource: c.gen.addr6, inputGroup: ssmGroup, outputs: [{ group: 'ff15::2:77', port: 5000, interface: c.relayOut.ifname }] } });
    const runId = 211;
    const datagrams = 100;
    const floodPerGap = 80; // more than the table's 64 slots: enough to evict a datagram in the making
    const sink = await startSink(c.sink.ns, { interface: c.sink.ifname, streams: [endpoint(s.outGroup, s.outPort)], runId, idleTimeoutMs: 1500, maxWaitMs: 30_000 });

    const frames: Buffer[] = [];
    let floodId = 0x40000000;
    for (let seq = 0; seq < datagrams; seq++) {
      // 1000 bytes of payload, 1008 of UDP datagram: fragments of 400, 400 and 208 bytes.
      const payloadBytes = encodePayload({ flags: 0, runId, stream: s.stream, seq: BigInt(seq), txNs: 0n }, 1000);
      const real = fragments6({ src: c.gen.addr6, dst: s.inGroup, dstPort: s.inPort, hopLimit: 9, payloadBytes, fragmentSize: 400, id: 1000 + seq });
      expect(real).toHaveLength(3);
      frames.push(real[0]);
      for (let k = 0; k < floodPerGap; k++) {
        // Unrelated groups, a new identification each: every one a datagram of its own to the
        // reassembler. k % 3 = 0: a first fragment (with a UDP header, the rule's port even);
        // 1: a later one, 400 bytes in (no UDP header, no port); 2: a first fragment to the
        // source-specific rule's group from a source it does not name.
        const dst = `ff15::99:${(k % 40) + 1}`;
        const id = floodId++;
        if (k % 3 === 0) frames.push(fragments6({ src: c.gen.addr6, dst, dstPort: s.inPort, payload: 1000, fragmentSize: 400, id })[0]);
        else if (k % 3 === 1) frames.push(frame6({ src: c.gen.addr6, dst, ext: [{ type: 44, offset: 400 / 8, more: true, id }], body: Buffer.alloc(400, 0xab) }));
        else frames.push(fragments6({ src: 'fd00:99::1', dst: ssmGroup, dstPort: s.inPort, payload: 1000, fragmentSize: 400, id })[0]);
      }
      frames.push(real[1], real[2]);
    }
    await injectFrames(c.gen.ns, c.gen.ifname, frames, 1);
    const got = (await sink.done).streams[0];
    const stats = await rig.mcrd.client.request<{ totals: Totals }>('stats');
    const t = stats.totals;
    console.log(`unwanted fragments: delivered ${got.unique}/${datagrams}; totals ${JSON.stringify({ matched: t.matched, fragments: t.fragments, reassembled: t.reassembled, reassemblyEvicted: t.reassemblyEvicted, fragmentsUnwanted: t.fragmentsUnwanted, kernelDrops: t.kernelDrops })}`);
    expect(t.kernelDrops).toBe(0); // else a loss would not be the reassembler's
    expect(got).toMatchObject({ unique: datagrams, duplicates: 0, corrupted: 0 });
    expect(t).toMatchObject({ matched: datagrams, reassembled: datagrams, fragments: 3 * datagrams, reassemblyEvicted: 0, fragmentsUnwanted: datagrams * floodPerGap });
  });
});
