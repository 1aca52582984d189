// The control socket under hostile clients: thousands of malformed requests over several
// connections (some cut off mid-line), an over-long line, a client stalled mid-line and one that
// pipelines without reading. mcrd must refuse each bad request, stay up, answer others meanwhile,
// and keep its rule table — in mcrd and in the workers, shown by traffic counted at the sink.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planStreams, type StreamPlan } from '../../harness/src/streams.js';
import { ControlClient, LineSplitter, MAX_LINE_BYTES, type Response } from '../../relay/src/api.js';
import { announceSkip, skipReason } from './env.js';
import { malformedRequests, prng } from './malformed-requests.js';
import { ruleFor, startRig, traffic, type Rig } from './relay-rig.js';
import { until } from './until.js';

const reason = skipReason();
announceSkip('control-plane fuzz', reason);

const SEED = Number(process.env.MCR_FUZZ_SEED ?? Date.now() % 1_000_000);
const REQUESTS = 4000;
const CONNECTIONS = 8;

/** A raw connection: writes bytes as given, collects reply lines. */
function connect(path: string): Promise<{ socket: net.Socket; replies: Response[] }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const replies: Response[] = [];
    const splitter = new LineSplitter((line) => replies.push(JSON.parse(line) as Response), () => replies.push({ id: null, ok: false, error: 'reply too long' }));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => splitter.push(chunk));
    socket.once('connect', () => resolve({ socket, replies }));
    socket.once('error', reject);
  });
}

function rssMiB(pid: number): number {
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);
}

describe.skipIf(reason)(`control socket under malformed and stalled clients (seed ${SEED}; MCR_FUZZ_SEED repeats it)`, () => {
  let rig: Rig;
  let plans: StreamPlan[];
  let before: unknown;
  beforeAll(async () => {
    rig = await startRig(['--workers', '2']);
    plans = planStreams(3);
    for (const s of plans) await rig.mcrd.client.request('add', { rule: ruleFor(rig.chain, s) });
    before = await rig.mcrd.client.request('list', {});
  });
  afterAll(async () => {
    await rig?.destroy();
  });

  it(`refuses ${REQUESTS} malformed requests over ${CONNECTIONS} connections, one reply each, in order`, async () => {
    const random = prng(SEED);
    // Valid rules on groups no kept rule uses: only their defect (or their company) refuses them.
    const valid = (i: number) => {
      const output = { group: `239.200.${(i >> 8) & 255}.${i & 255}`, port: 6000, interface: rig.chain.relayOut.ifname };
      return { output, rule: { inputInterface: rig.chain.relayIn.ifname, inputGroup: `239.100.${(i >> 8) & 255}.${i & 255}`, inputPort: 5000, outputs: [output] } };
    };
    const requests = malformedRequests(REQUESTS, random, valid, plans.map((s) => ruleFor(rig.chain, s)));
    const share = Math.ceil(REQUESTS / CONNECTIONS);
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, c) => {
        const mine = requests.slice(c * share, (c + 1) * share);
        const { socket, replies } = await connect(rig.mcrd.socketPath);
        // Written in pieces cut anywhere, as a slow or odd client would.
        const bytes = Buffer.concat(mine.flatMap((r) => [r.line, Buffer.from('\n')]));
        for (let at = 0; at < bytes.length; ) {
          const n = 1 + Math.floor(random() * 4096);
          socket.write(bytes.subarray(at, at + n));
          at += n;
        }
        await until(`${mine.length} replies on connection ${c}`, () => replies.length >= mine.length, 30_000);
        socket.destroy();
        expect(replies).toHaveLength(mine.length);
        replies.forEach((reply, i) => {
          if (!mine[i].readOnly) expect(reply.ok, `connection ${c} request ${i}: ${mine[i].line.toString().slice(0, 200)}`).toBe(false);
          if (!reply.ok) expect(reply.error.length).toBeGreaterThan(0);
        });
      }),
    );
  });

  it('a connection cut mid-request, or closed before its replies, changes nothing', async () => {
    for (let i = 0; i < 50; i++) {
      const { socket } = await connect(rig.mcrd.socketPath);
      const add = JSON.stringify({ id: i, cmd: 'add', rule: { inputInterface: rig.chain.relayIn.ifname, inputGroup: '239.150.0.1', inputPort: 5000, outputs: [] } });
      socket.write(i % 2 ? add.slice(0, add.length / 2) : `${'{"id":1,"cmd":"stats"}\n'.repeat(20)}${add}\n`);
      socket.destroy();
    }
    expect(await rig.mcrd.client.request('ping', {})).toBeDefined();
  });

  it('an over-long line is refused and the connection stays usable', async () => {
    const { socket, replies } = await connect(rig.mcrd.socketPath);
    socket.write(`{"id":1,"cmd":"add","rule":"${'x'.repeat(MAX_LINE_BYTES + 10)}"}\n{"id":2,"cmd":"ping"}\n`);
    await until('two replies', () => replies.length >= 2, 30_000);
    expect(replies[0]).toMatchObject({ ok: false, error: expect.stringMatching(/longer than/) });
    expect(replies[1]).toMatchObject({ id: 2, ok: true });
    socket.destroy();
  });

  it('a client stalled mid-line and one that never reads its replies do not block another', async () => {
    const stalled = await connect(rig.mcrd.socketPath);
    stalled.socket.write('{"id":1,"cmd":"pi');
    const deaf = await connect(rig.mcrd.socketPath);
    deaf.socket.pause();
    const rssBefore = rssMiB(rig.mcrd.pid);
    deaf.socket.write('{"id":1,"cmd":"stats"}\n'.repeat(50_000));
    const other = await ControlClient.connect(rig.mcrd.socketPath);
    try {
      for (let i = 0; i < 20; i++) {
        const answer = await Promise.race([other.request('ping', {}), sleep(10_000).then(() => 'no answer in 10 s')]);
        expect(answer).not.toBe('no answer in 10 s');
      }
      // Unread, the 50,000 replies would hold ~150 MiB in mcrd; it stops reading that client instead.
      console.log(`mcrd RSS ${rssBefore} MiB before the unread requests, ${rssMiB(rig.mcrd.pid)} MiB after`);
      expect(rssMiB(rig.mcrd.pid) - rssBefore).toBeLessThan(40);
    } finally {
      other.close();
      stalled.socket.destroy();
      deaf.socket.destroy();
    }
  });

  it('afterwards: mcrd and its workers are up, the table is unchanged and every stream still forwards in full', async () => {
    expect(await rig.mcrd.client.request('list', {})).toEqual(before);
    const { workers } = (await rig.mcrd.client.request('workers', {})) as { workers: { state: string; restarts: number }[] };
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) expect(w).toMatchObject({ state: 'running', restarts: 0 });
    const { sink } = await traffic(rig.chain, plans, 1000, 1000, 21);
    for (const st of sink.streams) expect(st, `stream ${st.stream}`).toMatchObject({ unique: 1000, duplicates: 0, misdelivered: 0 });
  });
});
