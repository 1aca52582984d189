// The snooping topology: a group reaches the relay's namespace only while something there has
// joined it, from the first packet (the bridge has settled before createChain returns).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { createChain, type Chain } from '../../netns/topology.js';
import { runGenerator } from '../../harness/src/generator.js';
import { startSink } from '../../harness/src/sink.js';
import { announceSkip, skipReason } from './env.js';

const reason = skipReason(['bridge']);
announceSkip('snooping topology integration', reason);

async function rxPackets(chain: Chain): Promise<number> {
  const { stdout } = await $`ip -n ${chain.relayIn.ns} -s -j link show ${chain.relayIn.ifname}`;
  return (JSON.parse(stdout) as { stats64: { rx: { packets: number } } }[])[0].stats64.rx.packets;
}

describe.skipIf(reason)('snooping topology', () => {
  let chain: Chain;
  beforeAll(async () => {
    chain = await createChain({ topology: 'snooping' });
  });
  afterAll(async () => {
    await chain?.destroy();
  });

  it('settles before it is returned, then forwards a joined group in full and an unjoined one not at all', async () => {
    expect(chain.topology).toBe('snooping');
    expect(chain.segment!.settledMs).toBeGreaterThan(0);
    const joined = '239.1.0.1:5000';
    const other = '239.1.0.2:5000';
    // A receiver in the relay's namespace joins one group, as the relay would.
    const sink = await startSink(chain.relayIn.ns, { interface: chain.relayIn.ifname, streams: [joined], runId: 7, idleTimeoutMs: 500, maxWaitMs: 30_000 });
    const seen = await chain.segment!.waitForJoins(['239.1.0.1'], 5000);
    expect([...seen]).toEqual(['239.1.0.1']);
    const before = await rxPackets(chain);
    const gen = await runGenerator(chain.gen.ns, { interface: chain.gen.ifname, streams: [joined, other], rate: 1000, count: 300, runId: 7 });
    const got = await sink.done;
    const arrived = (await rxPackets(chain)) - before;
    expect(gen.streams.map((s) => s.sent)).toEqual([300, 300]);
    expect(got.streams[0].unique).toBe(300);
    // The joined group's 300, and at most a few IGMP queries: none of the other group's 300.
    expect(arrived).toBeGreaterThanOrEqual(300);
    expect(arrived).toBeLessThan(310);
  });
});
