// The IPv6 reassembly table the forwarder keeps per worker, driven in-process through the test
// addon: order, identity, what it refuses (RFC 5722 overlaps, bad lengths) and its bounds.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { loadTestAddon, testAddonPath, type TestAddon } from '../../relay/src/test-addon.js';
import { fragments6, frame6 } from '../../harness/src/frames.js';

const built = existsSync(testAddonPath);
if (!built) console.warn(`SKIPPED reassembly tests: ${testAddonPath} missing (run npm install)`);

describe.skipIf(!built)("IPv6 reassembly (the forwarder's table, in-process)", () => {
  const addon = built ? loadTestAddon() : ({} as TestAddon);
  const T0 = 1_000_000; // ms: any monotonic time
  const payloadOf = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
    return b;
  };
  // A datagram's fragments and the payload they carry.
  const cut = (payload: number, fragmentSize: number, o: Partial<Omit<Parameters<typeof fragments6>[0], 'fragmentSize'>> = {}) => {
    const payloadBytes = payloadOf(payload);
    return { payloadBytes, frames: fragments6({ payloadBytes, fragmentSize, ...o }) };
  };
  const feed = (r: ReturnType<typeof make>, frames: Buffer[], at = T0) => frames.map((f) => r.add(f, at));
  const make = (o?: { slots?: number; timeoutMs?: number; wanted?: { group: string; source?: string }[] }) => new addon.Reassembly(o);


  describe('whole datagrams, in any order, kept apart by source, destination and identification', () => {
    it('reassembles in order and keeps the first fragment\'s addresses, hop limit and traffic class', () => {
      const r = make();
      const { payloadBytes, frames } = cut(3000, 1232, { id: 7, src: 'fd00::7', dst: 'ff15::1:1', hopLimit: 9, trafficClass: 0xb9, srcPort: 1234, dstPort: 5000 });
      const out = feed(r, frames);
      expect(out.map((o) => o.result)).toEqual(['pending', 'pending', 'complete']);
      expect(out[2].datagram).toMatchObject({ status: 'ok', length: 3008, src: 'fd00::7', dst: 'ff15::1:1', ttl: 9, tos: 0xb9, srcPort: 1234, dstPort: 5000 });
      expect(out[2].datagram!.payload!.equals(payloadBytes)).toBe(true);
      expect(r.stats).toEqual({ fragments: 3, reassembled: 1, reassemblyExpired: 0, reassemblyEvicted: 0, reassemblyOverlaps: 0, fragmentDuplicates: 0, fragmentsUnwanted: 0, open: 0, held: 0 });
    });

    it('reassembles in reverse and in any order; the hop limit is the first fragment\'s whenever it comes', () => {
      const r = make();
      const { payloadBytes, frames } = cut(4000, 1448, { hopLimit: 5 });
      const reversed = feed(r, [...frames].reverse());
      expect(reversed.map((o) => o.result)).toEqual(['pending', 'pending', 'complete']);
      expect(reversed[2].datagram!.payload!.equals(payloadBytes)).toBe(true);
      // The largest datagram there is (65,527 payload bytes: a 65,535-byte fragmentable part), in 54 shuffled fragments.
      let seed = 42;
      const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const big = cut(65527, 1232, { id: 99 });
      const first = big.frames[0];
      const rest = big.frames.slice(1);
      for (let i = rest.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [rest[i], rest[j]] = [rest[j], rest[i]];
      }
      const shuffled = [...rest.slice(0, 20), first, ...rest.slice(20)];
      const res = feed(r, shuffled);
      expect(res.slice(0, -1).every((o) => o.result === 'pending')).toBe(true);
      expect(res.at(-1)).toMatchObject({ result: 'complete', datagram: { status: 'ok', length: 65535, ttl: 7 } });
      expect(res.at(-1)!.datagram!.payload!.equals(big.payloadBytes)).toBe(true);
      // Hop limit and traffic class of the first fragment, not of the last to arrive.
      const mixed = fragments6({ payload: 2000, fragmentSize: 1232, id: 5, hopLimit: 3 });
      const firstWith9 = fragments6({ payload: 2000, fragmentSize: 1232, id: 5, hopLimit: 9, trafficClass: 4 })[0];
      expect(r.add(firstWith9, T0).result).toBe('pending');
      expect(r.add(mixed[1], T0)).toMatchObject({ result: 'complete', datagram: { ttl: 9, tos: 4 } });
      expect(r.stats).toMatchObject({ fragments: 3 + 54 + 2, reassembled: 3, open: 0 });
    });

    it('keeps datagrams apart by source, destination and identification', () => {
      const r = make();
      const a = cut(2000, 1232, { id: 1, src: 'fd00::1' });
      const b = cut(2000, 1232, { id: 1, src: 'fd00::2', payloadBytes: Buffer.alloc(2000, 0xaa) });
      const c = cut(2000, 1232, { id: 1, src: 'fd00::1', dst: 'ff15::9', payloadBytes: Buffer.alloc(2000, 0xbb) });
      const d = cut(2000, 1232, { id: 2, src: 'fd00::1', payloadBytes: Buffer.alloc(2000, 0xcc) });
      const res = feed(r, [a.frames[0], b.frames[0], c.frames[0], d.frames[0], d.frames[1], c.frames[1], b.frames[1], a.frames[1]]);
      expect(res.map((o) => o.result)).toEqual(['pending', 'pending', 'pending', 'pending', 'complete', 'complete', 'complete', 'complete']);
      expect(res[4].datagram!.payload!.equals(Buffer.alloc(2000, 0xcc))).toBe(true);
      expect(res[5].datagram).toMatchObject({ dst: 'ff15::9' });
      expect(res[5].datagram!.payload!.equals(Buffer.alloc(2000, 0xbb))).toBe(true);
      expect(res[6].datagram).toMatchObject({ src: 'fd00::2' });
      expect(res[6].datagram!.payload!.equals(Buffer.alloc(2000, 0xaa))).toBe(true);
      expect(res[7].datagram!.payload!.equals(a.payloadBytes)).toBe(true);
    });

    it('reassembles odd sizes: last fragments of any length, 8-byte fragments, a 1-byte payload', () => {
      const r = make();
      let id = 1000;
      for (const [payload, size] of [[1, 8], [7, 8], [8, 8], [9, 8], [100, 16], [1226, 1232], [1225, 1232], [1232 - 8, 616], [2000, 1448], [8944, 1448], [65527, 8944]]) {
        const { payloadBytes, frames } = cut(payload, size, { id: id++ });
        expect(frames.length, `${payload}/${size}`).toBeGreaterThan(1);
        const res = feed(r, [...frames.slice(1), frames[0]]);
        expect(res.at(-1)!.result, `${payload}/${size}`).toBe('complete');
        expect(res.at(-1)!.datagram!.payload!.equals(payloadBytes), `${payload}/${size}`).toBe(true);
      }
      // A 65,527-byte payload in 8-byte fragments: 8,192 of them.
      const tiny = cut(65527, 8, { id: 1 });
      const res = feed(r, tiny.frames);
      expect(res.at(-1)!.datagram!.payload!.equals(tiny.payloadBytes)).toBe(true);
      expect(r.stats).toMatchObject({ reassembled: 12, reassemblyOverlaps: 0, open: 0 });
    });
  });

  describe('what cannot be one datagram is refused', () => {
    it('drops exact duplicates alone and keeps the datagram', () => {
      const r = make();
      const { payloadBytes, frames } = cut(4000, 1232);
      const [f0, f1, f2, f3] = frames;
      const res = feed(r, [f1, f1, f3, f3, f0, f0, f2]);
      expect(res.map((o) => o.result)).toEqual(['pending', 'duplicate', 'pending', 'duplicate', 'pending', 'duplicate', 'complete']);
      expect(res[6].datagram!.payload!.equals(payloadBytes)).toBe(true);
      expect(r.stats).toMatchObject({ fragments: 7, reassembled: 1, fragmentDuplicates: 3, reassemblyOverlaps: 0 });
      // A duplicate after completion finds no datagram: it starts one that can only expire.
      expect(r.add(f1, T0).result).toBe('pending');
      expect(r.expire(T0 + 1000)).toBe(1);
    });

    it('drops the whole datagram on an overlapping fragment (RFC 5722), and on one inconsistent with the last', () => {
      const r = make({ timeoutMs: 50 });
      const { frames } = cut(4000, 1232, { id: 3 });
      expect(r.add(frames[0], T0).result).toBe('pending');
      expect(r.add(frames[1], T0).result).toBe('pending');
      // 16 bytes at 1224: its first unit is the first fragment's last.
      const overlapping = frame6({ ext: [{ type: 44, offset: 1224 / 8, more: true, id: 3 }], body: Buffer.alloc(16) });
      expect(r.add(overlapping, T0).result).toBe('overlap');
      expect(r.stats).toMatchObject({ reassemblyOverlaps: 1, open: 0 });
      // The rest of it cannot complete: its fragments start a datagram of their own, which expires.
      expect(r.add(frames[2], T0).result).toBe('pending');
      expect(r.add(frames[3], T0).result).toBe('pending');
      expect(r.expire(T0 + 50)).toBe(1);
      // Same offset, longer than the one already in: overlap, not a duplicate.
      expect(r.add(frames[0], T0).result).toBe('pending');
      expect(r.add(frame6({ ext: [{ type: 44, offset: 0, more: true, id: 3 }], body: Buffer.alloc(1240) }), T0).result).toBe('overlap');
      // One fragment spanning two already in.
      feed(r, [frames[0], frames[1]]);
      expect(r.add(frame6({ ext: [{ type: 44, offset: 0, more: true, id: 3 }], body: Buffer.alloc(2464) }), T0).result).toBe('overlap');
      // Two last fragments that end in different places.
      expect(r.add(frames[3], T0).result).toBe('pending');
      expect(r.add(frame6({ ext: [{ type: 44, offset: 3696 / 8, id: 3 }], body: Buffer.alloc(100) }), T0).result).toBe('overlap');
      // A fragment past the last one's end.
      expect(r.add(frames[3], T0).result).toBe('pending');
      expect(r.add(frame6({ ext: [{ type: 44, offset: 5000 / 8, more: true, id: 3 }], body: Buffer.alloc(8) }), T0).result).toBe('overlap');
      // A last fragment ending before data already in.
      expect(r.add(frames[2], T0).result).toBe('pending');
      expect(r.add(frame6({ ext: [{ type: 44, offset: 1232 / 8, id: 3 }], body: Buffer.alloc(20) }), T0).result).toBe('overlap');
      expect(r.stats).toMatchObject({ reassemblyOverlaps: 6, reassembled: 0, open: 0 });
    });

    it('refuses fragments reaching past 65535 bytes or of a bad length before they take a slot', () => {
      const r = make();
      expect(r.add(frame6({ ext: [{ type: 44, offset: 8191, id: 1 }], body: Buffer.alloc(8) }), T0).result).toBe('bad_fragment');
      expect(r.add(frame6({ ext: [{ type: 44, offset: 8100, more: true, id: 1 }], body: Buffer.alloc(800) }), T0).result).toBe('bad_fragment');
      expect(r.add(frame6({ ext: [{ type: 44, offset: 1, more: true, id: 1 }], body: Buffer.alloc(12) }), T0).result).toBe('bad_fragment');
      // Unfragmented and atomic: not for the table.
      expect(r.add(frame6(), T0).result).toBe('ok');
      expect(r.add(frame6({ ext: [{ type: 44 }] }), T0).result).toBe('ok');
      expect(r.stats).toMatchObject({ fragments: 0, open: 0 });
    });

    it('checks the reassembled UDP length against the reassembled length', () => {
      const r = make();
      for (const [delta, id] of [[1, 1], [-1, 2], [-3008, 3], [8, 4]]) {
        const res = feed(r, fragments6({ payload: 3000, fragmentSize: 1232, udpLengthDelta: delta, id }));
        expect(res.at(-1)).toMatchObject({ result: 'complete', datagram: { status: 'bad_udp_length', length: 3008 } });
        expect(res.at(-1)!.datagram!.payload).toBeUndefined();
      }
    });

    it('checks its arguments', () => {
      expect(() => new addon.Reassembly({ slots: 0 })).toThrow(/slots/);
      expect(() => new addon.Reassembly({ slots: 5000 })).toThrow(/4096/);
      expect(() => new addon.Reassembly({ timeoutMs: 0 })).toThrow(/timeoutMs/);
      expect(() => new addon.Reassembly({ wanted: 'ff15::1' as never })).toThrow(/'wanted' must be an array/);
      expect(() => new addon.Reassembly({ wanted: [{ group: '239.1.1.1' }] })).toThrow(/wanted #1: group '239.1.1.1' is not an IPv6 address/);
      expect(() => new addon.Reassembly({ wanted: [{ group: 'ff15::1' }, { group: 'ff15::2', source: 'x' }] })).toThrow(/wanted #2: source 'x'/);
      expect(() => new addon.Reassembly({ wanted: [3 as never] })).toThrow(/wanted #1 must be an object/);
      const r = make();
      expect(() => r.add('x' as never, T0)).toThrow(TypeError);
      expect(() => r.add(frame6(), -1)).toThrow(RangeError);
      expect(() => r.expire(NaN)).toThrow(RangeError);
    });
  });

  describe('bounded: a timeout, a full table, fragments no rule wants', () => {
    it('expires an incomplete datagram (missing middle) after its timeout, counted', () => {
      const r = make();
      const { frames } = cut(4000, 1232);
      expect(r.add(frames[0], T0).result).toBe('pending');
      expect(r.add(frames[2], T0 + 400).result).toBe('pending');
      expect(r.add(frames[3], T0 + 900).result).toBe('pending');
      expect(r.expire(T0 + 999)).toBe(0);
      expect(r.stats).toMatchObject({ open: 1, reassemblyExpired: 0 });
      // Timed from the first fragment: 1 s (the default).
      expect(r.expire(T0 + 1000)).toBe(1);
      expect(r.stats).toMatchObject({ open: 0, reassemblyExpired: 1, reassembled: 0 });
      // The missing one, late: a datagram of its own, expired in turn by a later fragment's arrival.
      expect(r.add(frames[1], T0 + 1001).result).toBe('pending');
      expect(r.add(cut(100, 64, { id: 77 }).frames[0], T0 + 2001).result).toBe('pending');
      expect(r.stats).toMatchObject({ open: 1, reassemblyExpired: 2 });
    });

    it('evicts the oldest incomplete datagram when the table is full, counted', () => {
      const r = make({ slots: 4 });
      const datagrams = [1, 2, 3, 4, 5].map((id) => cut(2000, 1232, { id }).frames);
      datagrams.slice(0, 4).forEach((f, i) => expect(r.add(f[0], T0 + i).result).toBe('pending'));
      expect(r.stats).toMatchObject({ open: 4, reassemblyEvicted: 0 });
      // A fifth: the oldest (id 1) goes.
      expect(r.add(datagrams[4][0], T0 + 10).result).toBe('pending');
      expect(r.stats).toMatchObject({ open: 4, reassemblyEvicted: 1 });
      expect(r.add(datagrams[1][1], T0 + 11).result).toBe('complete');
      expect(r.add(datagrams[4][1], T0 + 11).result).toBe('complete');
      // id 1's second fragment starts over (id 3, the oldest left, is not evicted: there is room).
      expect(r.add(datagrams[0][1], T0 + 12).result).toBe('pending');
      expect(r.add(datagrams[2][1], T0 + 12).result).toBe('complete');
      expect(r.stats).toMatchObject({ reassembled: 3, reassemblyEvicted: 1, open: 2 });
      // The default table: 64 datagrams at once, the 65th evicts.
      const full = make();
      for (let id = 0; id < 64; id++) expect(full.add(cut(2000, 1232, { id }).frames[0], T0).result).toBe('pending');
      expect(full.stats).toMatchObject({ open: 64, reassemblyEvicted: 0 });
      expect(full.add(cut(2000, 1232, { id: 64 }).frames[0], T0).result).toBe('pending');
      expect(full.stats).toMatchObject({ open: 64, reassemblyEvicted: 1 });
    });

    it('takes only fragments a rule wants (its group, and source when source-specific, whatever the port): a flood of others is counted and never evicts', () => {
      const r = make({ wanted: [{ group: 'ff15::1:1' }, { group: 'ff15::2:2', source: 'fd00::7' }] });
      const real = cut(2000, 1232, { id: 1, src: 'fd00::9', dst: 'ff15::1:1' });
      const ssm = cut(2000, 1232, { id: 2, src: 'fd00::7', dst: 'ff15::2:2', dstPort: 6000 });
      expect(r.add(real.frames[0], T0).result).toBe('pending');
      expect(r.add(ssm.frames[0], T0).result).toBe('pending');
      // 1000 datagrams' worth of fragments, each a new identification: first fragments (a port, even
      // the rule's) and later ones (no port) to other groups, and to the source-specific group from
      // another source. Without the check the first 64 would fill the table and evict both.
      for (let id = 100; id < 1100; id++) {
        const f = id % 3 === 0
          ? cut(2000, 1232, { id, src: 'fd00::9', dst: `ff15::99:${id % 50}`, dstPort: 5000 }).frames[0]
          : id % 3 === 1
            ? cut(2000, 1232, { id, src: 'fd00::9', dst: `ff15::99:${id % 50}` }).frames[1]
            : cut(2000, 1232, { id, src: 'fd00::8', dst: 'ff15::2:2', dstPort: 6000 }).frames[0];
        expect(r.add(f, T0 + 1).result).toBe('unwanted');
      }
      expect(r.stats).toMatchObject({ open: 2, fragments: 2, fragmentsUnwanted: 1000, reassemblyEvicted: 0 });
      // A later fragment (no port) of a wanted group is wanted: the group decides, not the port.
      expect(r.add(cut(2000, 1232, { id: 3, src: 'fd00::5', dst: 'ff15::1:1' }).frames[1], T0 + 2).result).toBe('pending');
      expect(r.add(real.frames[1], T0 + 2)).toMatchObject({ result: 'complete', datagram: { status: 'ok', dst: 'ff15::1:1' } });
      expect(r.add(ssm.frames[1], T0 + 2)).toMatchObject({ result: 'complete', datagram: { status: 'ok', src: 'fd00::7', dst: 'ff15::2:2' } });
      expect(r.stats).toMatchObject({ reassembled: 2, fragments: 5, fragmentsUnwanted: 1000, open: 1 });
      // Unfragmented frames are not the check's: they take the rule lookup as before.
      expect(r.add(frame6({ dst: 'ff15::99:1' }), T0).result).toBe('ok');
      // No rules: nothing is reassembled. No list (the option absent): everything is, as before.
      const none = make({ wanted: [] });
      expect(none.add(real.frames[0], T0).result).toBe('unwanted');
      expect(none.stats).toMatchObject({ fragments: 0, fragmentsUnwanted: 1, open: 0 });
      const all = make();
      expect(all.add(cut(2000, 1232, { id: 4, dst: 'ff15::99:1' }).frames[0], T0).result).toBe('pending');
      expect(all.stats).toMatchObject({ fragments: 1, fragmentsUnwanted: 0, open: 1 });
    });
  });
});
