// Frame parser: crafted frames, every malformed class, and random garbage. Never a crash.
// Also: the addon's argument checking (bad options throw before any socket is opened).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { addonPath, loadAddon, type Addon } from '../../relay/src/native.js';
import { loadTestAddon, testAddonPath, type TestAddon } from '../../relay/src/test-addon.js';
import { fragments6, frame, frame6 } from '../../harness/src/frames.js';

const built = existsSync(addonPath) && existsSync(testAddonPath);
if (!built) console.warn(`SKIPPED parser tests: ${addonPath} or ${testAddonPath} missing (run npm install)`);

const STATUSES = ['ok', 'truncated', 'not_ip', 'bad_ihl', 'bad_total_length', 'fragment', 'not_udp', 'bad_udp_length', 'not_multicast', 'bad_ipv6_header', 'jumbogram', 'bad_extension_header', 'too_many_extension_headers', 'bad_fragment'];

describe.skipIf(!built)('frame parser', () => {
  const addon = built ? loadTestAddon() : ({} as TestAddon);
  const { parseFrame } = addon;

  it('parses a UDP multicast frame', () => {
    expect(parseFrame(frame())).toEqual({ status: 'ok', family: 4, src: '10.0.0.1', dst: '239.1.2.3', srcPort: 40000, dstPort: 5000, ttl: 7, tos: 0, payloadOffset: 42, payloadLength: 20 });
    const marked = frame();
    marked[15] = 0xb9; // the TOS byte: DSCP 46 (EF), ECN ECT(1)
    expect(parseFrame(marked)).toMatchObject({ status: 'ok', tos: 0xb9 });
    expect(parseFrame(frame({ dst: [224, 0, 0, 1], src: [192, 168, 255, 254], ttl: 255 }))).toMatchObject({ status: 'ok', dst: '224.0.0.1', src: '192.168.255.254', ttl: 255 });
    expect(parseFrame(frame({ dst: [239, 255, 255, 255] }))).toMatchObject({ status: 'ok', dst: '239.255.255.255' });
    expect(parseFrame(frame({ payload: 0 }))).toMatchObject({ status: 'ok', payloadOffset: 42, payloadLength: 0 });
  });

  it('handles IP options, VLAN tags and Ethernet padding', () => {
    expect(parseFrame(frame({ options: 8 }))).toMatchObject({ status: 'ok', payloadOffset: 50, payloadLength: 20 });
    expect(parseFrame(frame({ options: 40 }))).toMatchObject({ status: 'ok', payloadOffset: 82, payloadLength: 20 });
    expect(parseFrame(frame({ tags: [[0x8100, 42]] }))).toMatchObject({ status: 'ok', vlan: 42, payloadOffset: 46 });
    // Priority bits are not part of the VLAN id.
    expect(parseFrame(frame({ tags: [[0x8100, 0xe000 | 7]] }))).toMatchObject({ status: 'ok', vlan: 7 });
    expect(parseFrame(frame({ tags: [[0x88a8, 100]] }))).toMatchObject({ status: 'ok', vlan: 100, payloadOffset: 46 });
    expect(parseFrame(frame({ tags: [[0x88a8, 100], [0x8100, 200]] }))).toMatchObject({ status: 'ok', vlan: 100, payloadOffset: 50 });
    expect(parseFrame(frame({ tags: [[0x8100, 5]], options: 4 }))).toMatchObject({ status: 'ok', vlan: 5, payloadOffset: 50 });
    // A minimum-size Ethernet frame: 2 payload bytes padded to 60 bytes.
    const padded = frame({ payload: 2, padding: 16 });
    expect(padded.length).toBe(60);
    expect(parseFrame(padded)).toMatchObject({ status: 'ok', payloadOffset: 42, payloadLength: 2 });
    // Padding after a UDP length shorter than the IP payload is not payload either.
    expect(parseFrame(frame({ udpLengthDelta: -5 }))).toMatchObject({ status: 'ok', payloadLength: 15 });
    // An untagged frame reports no vlan.
    expect(parseFrame(frame())).not.toHaveProperty('vlan');
  });

  it('reports truncation at every header', () => {
    const plain = frame({ options: 8 });
    // Ethernet (0-13), IP fixed header (14-33), IP options (34-41), UDP header (42-49).
    for (let len = 0; len < 14; len++) expect(parseFrame(plain.subarray(0, len)).status, `len ${len}`).toBe('truncated');
    for (let len = 14; len < 34; len++) expect(parseFrame(plain.subarray(0, len)).status, `len ${len}`).toBe('truncated');
    for (let len = 34; len < 42; len++) expect(parseFrame(plain.subarray(0, len)).status, `len ${len}`).toBe('truncated');
    // Past the IP header the total length field no longer fits in what is left.
    for (let len = 42; len < plain.length; len++) expect(parseFrame(plain.subarray(0, len)).status, `len ${len}`).toBe('bad_total_length');
    expect(parseFrame(plain).status).toBe('ok');
    const tagged = frame({ tags: [[0x88a8, 1], [0x8100, 2]] });
    for (let len = 0; len < 22 + 20; len++) expect(parseFrame(tagged.subarray(0, len)).status, `tagged len ${len}`).toBe('truncated');
  });

  it.each([
    ['ARP', Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]), 'not_ip'],
    ['an IPv4 header under the IPv6 ethertype', frame({ ethertype: 0x86dd, payload: 40 }), 'bad_ipv6_header'],
    ['an IPv4 header under the IPv6 ethertype, behind a VLAN tag', frame({ tags: [[0x8100, 1]], ethertype: 0x86dd, payload: 40 }), 'bad_ipv6_header'],
    ['three VLAN tags', frame({ tags: [[0x88a8, 1], [0x8100, 2], [0x8100, 3]] }), 'not_ip'],
    ['version 6 under the IPv4 ethertype', frame({ version: 6 }), 'bad_ihl'],
    ['version 0', frame({ version: 0 }), 'bad_ihl'],
    ['IHL 0', frame({ ihl: 0 }), 'bad_ihl'],
    ['IHL 4', frame({ ihl: 4 }), 'bad_ihl'],
    ['IHL past the end', frame({ ihl: 15, payload: 0 }).subarray(0, 40), 'truncated'],
    ['IHL larger than the total length', frame({ ihl: 15, payload: 30, padding: 20 }), 'bad_total_length'],
    ['total length longer than the frame', frame({ totalLengthDelta: 100 }), 'bad_total_length'],
    ['total length longer by one', frame({ totalLengthDelta: 1 }), 'bad_total_length'],
    ['total length shorter than IP + UDP headers', frame({ totalLengthDelta: -21 }), 'bad_total_length'],
    ['total length 0', frame({ totalLengthDelta: -48 }), 'bad_total_length'],
    ['more fragments', frame({ flagsFragment: 0x2000 }), 'fragment'],
    ['fragment offset', frame({ flagsFragment: 0x0010 }), 'fragment'],
    ['last fragment', frame({ flagsFragment: 0x0001 }), 'fragment'],
    ['TCP', frame({ proto: 6 }), 'not_udp'],
    ['ICMP', frame({ proto: 1 }), 'not_udp'],
    ['unicast', frame({ dst: [10, 0, 0, 2] }), 'not_multicast'],
    ['broadcast', frame({ dst: [255, 255, 255, 255] }), 'not_multicast'],
    ['class E', frame({ dst: [240, 0, 0, 1] }), 'not_multicast'],
    ['UDP length > IP payload', frame({ udpLengthDelta: 1 }), 'bad_udp_length'],
    ['UDP length far beyond', frame({ udpLengthDelta: 1000 }), 'bad_udp_length'],
    ['UDP length < 8', frame({ udpLengthDelta: -21 }), 'bad_udp_length'],
    ['UDP length 0', frame({ udpLengthDelta: -28 }), 'bad_udp_length'],
  ])('drops %s as %s', (_name, buf, status) => {
    expect(parseFrame(buf as Buffer).status).toBe(status);
  });

  it('keeps DF frames (DF is not fragmentation) and ignores the IP checksum', () => {
    expect(parseFrame(frame({ flagsFragment: 0x4000 })).status).toBe('ok');
  });

  it('survives 20,000 random buffers and 40,000 mutations of valid frames, never reading past the end', () => {
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const seen = new Map<string, number>();
    const check = (buf: Buffer) => {
      const p = parseFrame(buf);
      expect(STATUSES).toContain(p.status);
      seen.set(p.status, (seen.get(p.status) ?? 0) + 1);
      if (p.status === 'ok') {
        expect(p.payloadOffset! + p.payloadLength!).toBeLessThanOrEqual(buf.length);
        expect(p.payloadOffset).toBeGreaterThanOrEqual(42);
      }
    };
    for (let i = 0; i < 20_000; i++) {
      const buf = Buffer.alloc(Math.floor(rand() * 201));
      for (let k = 0; k < buf.length; k++) buf[k] = Math.floor(rand() * 256);
      // Bias half of them towards the interesting path: IPv4 ethertype, version 4, UDP, multicast.
      if (buf.length > 33 && rand() < 0.5) {
        buf.writeUInt16BE(0x0800, 12);
        buf[14] = 0x40 | (buf[14] & 0x0f);
        buf[23] = 17;
        buf[30] = 0xe0 | (buf[30] & 0x0f);
      }
      check(buf);
    }
    const bases = [frame({ options: 4 }), frame({ tags: [[0x8100, 9]] }), frame({ tags: [[0x88a8, 1], [0x8100, 2]], payload: 3, padding: 20 })];
    for (const valid of bases) {
      for (let i = 0; i < 13_334; i++) {
        const buf = Buffer.from(valid.subarray(0, Math.floor(rand() * (valid.length + 1))));
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips && buf.length; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
        check(buf);
      }
    }
    // Also a Buffer that is a view into a larger allocation: only the view's bytes count.
    const big = frame({ payload: 100 });
    expect(parseFrame(big.subarray(0, 60)).status).toBe('bad_total_length');
    expect(seen.get('ok')).toBeGreaterThan(100);
    expect(seen.get('truncated')).toBeGreaterThan(100);
    expect(seen.size).toBeGreaterThanOrEqual(8);
  });
});

describe.skipIf(!built)('frame parser, IPv6', () => {
  const addon = built ? loadTestAddon() : ({} as TestAddon);
  const { parseFrame } = addon;
  const hbh = { type: 0 };
  const dest = (size = 8) => ({ type: 60, size });
  const routing = { type: 43, size: 24 };

  it('parses an IPv6 UDP multicast frame: hop limit as ttl, traffic class as tos', () => {
    expect(parseFrame(frame6())).toEqual({ status: 'ok', family: 6, src: 'fd00::1', dst: 'ff15::8', srcPort: 40000, dstPort: 5000, ttl: 7, tos: 0, payloadOffset: 62, payloadLength: 20 });
    // Traffic class 0xb9 (DSCP 46, ECT(1)) straddles the first two bytes; the flow label is not part of it.
    expect(parseFrame(frame6({ trafficClass: 0xb9, flowLabel: 0xfffff, hopLimit: 255 }))).toMatchObject({ status: 'ok', tos: 0xb9, ttl: 255 });
    expect(parseFrame(frame6({ trafficClass: 0x03, flowLabel: 0x12345 }))).toMatchObject({ status: 'ok', tos: 0x03 });
    expect(parseFrame(frame6({ dst: 'ff02::1:3', src: 'fe80::1234:5678:9abc:def0', srcPort: 1, dstPort: 65535 }))).toMatchObject({ status: 'ok', dst: 'ff02::1:3', src: 'fe80::1234:5678:9abc:def0', srcPort: 1, dstPort: 65535 });
    expect(parseFrame(frame6({ dst: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' }))).toMatchObject({ status: 'ok', dst: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' });
    expect(parseFrame(frame6({ payload: 0 }))).toMatchObject({ status: 'ok', payloadOffset: 62, payloadLength: 0 });
    expect(parseFrame(frame6({ payload: 1452 }))).toMatchObject({ status: 'ok', payloadLength: 1452 });
  });

  it('walks hop-by-hop, routing and destination options headers', () => {
    expect(parseFrame(frame6({ ext: [hbh, dest(16)] }))).toMatchObject({ status: 'ok', family: 6, payloadOffset: 62 + 24, payloadLength: 20 });
    expect(parseFrame(frame6({ ext: [routing] }))).toMatchObject({ status: 'ok', payloadOffset: 62 + 24 });
    expect(parseFrame(frame6({ ext: [hbh, dest(), routing, dest(2048)] }))).toMatchObject({ status: 'ok', payloadOffset: 62 + 8 + 8 + 24 + 2048 });
    // Eight extension headers are walked; a ninth is one too many.
    const eight = [hbh, ...Array.from({ length: 7 }, () => dest())];
    expect(parseFrame(frame6({ ext: eight }))).toMatchObject({ status: 'ok', payloadOffset: 62 + 64 });
    expect(parseFrame(frame6({ ext: [...eight, dest()] })).status).toBe('too_many_extension_headers');
    expect(parseFrame(frame6({ ext: Array.from({ length: 9 }, () => routing) })).status).toBe('too_many_extension_headers');
    expect(parseFrame(frame6({ ext: Array.from({ length: 200 }, () => dest()) })).status).toBe('too_many_extension_headers');
  });

  it('handles VLAN tags and Ethernet padding', () => {
    expect(parseFrame(frame6({ tags: [[0x8100, 42]] }))).toMatchObject({ status: 'ok', family: 6, vlan: 42, payloadOffset: 66 });
    expect(parseFrame(frame6({ tags: [[0x88a8, 100], [0x8100, 200]], ext: [hbh] }))).toMatchObject({ status: 'ok', vlan: 100, payloadOffset: 78 });
    // Only the payload length counts: what follows is padding.
    expect(parseFrame(frame6({ padding: 30 }))).toMatchObject({ status: 'ok', payloadOffset: 62, payloadLength: 20 });
    expect(parseFrame(frame6({ udpLengthDelta: -5 }))).toMatchObject({ status: 'ok', payloadLength: 15 });
  });

  it('reports truncation, then a payload length past the frame, at every length', () => {
    const f = frame6({ ext: [hbh, dest(16)] });
    for (let len = 0; len < 14 + 40; len++) expect(parseFrame(f.subarray(0, len)).status, `len ${len}`).toBe('truncated');
    // Cut anywhere after the fixed header (inside an extension header, the UDP header or the payload).
    for (let len = 14 + 40; len < f.length; len++) expect(parseFrame(f.subarray(0, len)).status, `len ${len}`).toBe('bad_ipv6_header');
    expect(parseFrame(f).status).toBe('ok');
    const tagged = frame6({ tags: [[0x88a8, 1], [0x8100, 2]] });
    for (let len = 0; len < 22 + 40; len++) expect(parseFrame(tagged.subarray(0, len)).status, `tagged len ${len}`).toBe('truncated');
  });

  it.each([
    ['version 4 under the IPv6 ethertype', frame6({ version: 4 }), 'bad_ipv6_header'],
    ['version 0', frame6({ version: 0 }), 'bad_ipv6_header'],
    ['version 15', frame6({ version: 15 }), 'bad_ipv6_header'],
    ['payload length past the frame by one', frame6({ payloadLengthDelta: 1 }), 'bad_ipv6_header'],
    ['payload length past the frame', frame6({ payloadLength: 0xffff }), 'bad_ipv6_header'],
    ['payload length past the frame, padding or not', frame6({ payloadLengthDelta: 40, padding: 39 }), 'bad_ipv6_header'],
    ['payload length 0 (jumbogram)', frame6({ payloadLength: 0 }), 'jumbogram'],
    ['jumbogram with a hop-by-hop header', frame6({ payloadLength: 0, ext: [hbh] }), 'jumbogram'],
    ['first fragment whose length is not a multiple of 8', frame6({ ext: [{ type: 44, more: true }] }), 'bad_fragment'],
    ['middle fragment whose length is not a multiple of 8', frame6({ ext: [{ type: 44, offset: 3, more: true }], body: Buffer.alloc(1001) }), 'bad_fragment'],
    ['empty middle fragment', frame6({ ext: [{ type: 44, offset: 3, more: true }], body: Buffer.alloc(0) }), 'bad_fragment'],
    ['fragment reaching past 65535 bytes', frame6({ ext: [{ type: 44, offset: 8191 }], body: Buffer.alloc(8) }), 'bad_fragment'],
    ['fragment reaching one byte past 65535', frame6({ ext: [{ type: 44, offset: 8000, more: true }], body: Buffer.alloc(65536 - 64000) }), 'bad_fragment'],
    ['fragment of TCP', frame6({ ext: [{ type: 44, more: true }], proto: 6, body: Buffer.alloc(16) }), 'not_udp'],
    ['fragment to a unicast destination', frame6({ dst: 'fd00::2', ext: [{ type: 44, more: true }], body: Buffer.alloc(16) }), 'not_multicast'],
    ['fragment header cut short by the payload length', frame6({ ext: [{ type: 44, more: true }], body: Buffer.alloc(0), payloadLength: 4 }), 'bad_extension_header'],
    ['hop-by-hop not first', frame6({ ext: [dest(), hbh] }), 'bad_extension_header'],
    ['extension header longer than the payload', frame6({ ext: [{ type: 60, lengthByte: 10 }] }), 'bad_extension_header'],
    ['extension header length 255 in a short frame', frame6({ ext: [{ type: 0, lengthByte: 255 }] }), 'bad_extension_header'],
    ['payload ends inside an extension header', frame6({ ext: [hbh], payloadLength: 4 }), 'bad_extension_header'],
    ['payload ends inside the second extension header', frame6({ ext: [hbh, dest(16)], payloadLength: 20 }), 'bad_extension_header'],
    ['payload ends before the UDP header', frame6({ payloadLength: 7 }), 'bad_udp_length'],
    ['payload ends before the UDP header, after an extension header', frame6({ ext: [hbh], payloadLength: 12 }), 'bad_udp_length'],
    ['UDP length > payload', frame6({ udpLengthDelta: 1 }), 'bad_udp_length'],
    ['UDP length < 8', frame6({ udpLengthDelta: -21 }), 'bad_udp_length'],
    ['UDP length 0', frame6({ udpLengthDelta: -28 }), 'bad_udp_length'],
    ['TCP', frame6({ proto: 6 }), 'not_udp'],
    ['ICMPv6', frame6({ proto: 58 }), 'not_udp'],
    ['ICMPv6 after hop-by-hop (an MLD report)', frame6({ ext: [hbh], proto: 58 }), 'not_udp'],
    ['ESP', frame6({ proto: 50 }), 'not_udp'],
    ['AH', frame6({ ext: [{ type: 51, size: 16 }] }), 'not_udp'],
    ['no next header', frame6({ proto: 59 }), 'not_udp'],
    ['unicast destination', frame6({ dst: 'fd00::2' }), 'not_multicast'],
    ['link-local unicast destination', frame6({ dst: 'fe80::1' }), 'not_multicast'],
    ['unspecified destination', frame6({ dst: '::' }), 'not_multicast'],
    ['IPv4-mapped destination', frame6({ dst: '::ffff:efff:1' }), 'not_multicast'],
  ])('drops %s as %s', (_name, buf, status) => {
    expect(parseFrame(buf as Buffer).status).toBe(status);
  });

  it('reports an IPv6 fragment with its fields, for the reassembler', () => {
    const [first, second, last] = fragments6({ payload: 3000, fragmentSize: 1232, id: 0xdeadbeef, hopLimit: 9, trafficClass: 0xb9, src: 'fd00::7', dst: 'ff15::1:1' });
    expect(parseFrame(first)).toEqual({
      status: 'fragment', family: 6, src: 'fd00::7', dst: 'ff15::1:1', ttl: 9, tos: 0xb9,
      payloadOffset: 14 + 40 + 8, payloadLength: 1232,
      fragment: { id: 0xdeadbeef, offset: 0, more: true, nextHeader: 17 },
    });
    expect(parseFrame(second)).toMatchObject({ status: 'fragment', payloadOffset: 62, payloadLength: 1232, fragment: { id: 0xdeadbeef, offset: 1232, more: true, nextHeader: 17 } });
    // The last one: 3008 - 2464 = 544 bytes, no multiple of 8 needed.
    expect(parseFrame(last)).toMatchObject({ status: 'fragment', payloadLength: 3008 - 2 * 1232, fragment: { offset: 2464, more: false } });
    const odd = fragments6({ payload: 1001, fragmentSize: 512 });
    expect(parseFrame(odd[1])).toMatchObject({ status: 'fragment', payloadLength: 1009 - 512, fragment: { offset: 512, more: false } });
    // Behind hop-by-hop and destination options (the unfragmentable part), in a VLAN tag, with padding.
    const behind = fragments6({ payload: 100, fragmentSize: 64, ext: [hbh, dest(16)], tags: [[0x8100, 12]], padding: 7 });
    expect(parseFrame(behind[0])).toMatchObject({ status: 'fragment', vlan: 12, payloadOffset: 18 + 40 + 8 + 16 + 8, payloadLength: 64, fragment: { offset: 0, more: true } });
    expect(parseFrame(behind[1])).toMatchObject({ status: 'fragment', payloadLength: 108 - 64, fragment: { offset: 64, more: false } });
    // The most a fragment may reach: byte 65535.
    expect(parseFrame(frame6({ ext: [{ type: 44, offset: 8191 }], body: Buffer.alloc(7) }))).toMatchObject({ status: 'fragment', payloadLength: 7, fragment: { offset: 65528, more: false } });
    // An empty last fragment is allowed (it only says where the datagram ends).
    expect(parseFrame(frame6({ ext: [{ type: 44, offset: 10 }], body: Buffer.alloc(0) }))).toMatchObject({ status: 'fragment', payloadLength: 0, fragment: { offset: 80, more: false } });
  });

  it('passes an atomic fragment (offset 0, no more) straight through as a whole datagram', () => {
    expect(parseFrame(frame6({ ext: [{ type: 44 }] }))).toMatchObject({ status: 'ok', family: 6, payloadOffset: 62 + 8, payloadLength: 20 });
    expect(parseFrame(frame6({ ext: [hbh, dest(), { type: 44 }] }))).toMatchObject({ status: 'ok', payloadOffset: 62 + 24 });
    // It counts among the extension headers: the ninth is one too many.
    expect(parseFrame(frame6({ ext: [...Array.from({ length: 8 }, () => dest()), { type: 44 }] })).status).toBe('too_many_extension_headers');
    expect(parseFrame(frame6({ ext: [{ type: 44 }], proto: 6 })).status).toBe('not_udp');
    expect(parseFrame(frame6({ ext: [{ type: 44 }], udpLengthDelta: 1 })).status).toBe('bad_udp_length');
  });

  it('survives 100,000 mutations of valid IPv6 frames and fragments, never reading past the end', () => {
    let seed = 6789;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const seen = new Map<string, number>();
    const bases = [frame6(), frame6({ ext: [hbh, dest(16), routing] }), frame6({ tags: [[0x8100, 9]], ext: [hbh], payload: 3, padding: 20 }), ...fragments6({ payload: 100, fragmentSize: 64, ext: [hbh] })];
    for (const valid of bases) {
      for (let i = 0; i < 20_000; i++) {
        const buf = Buffer.from(valid.subarray(0, Math.floor(rand() * (valid.length + 1))));
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips && buf.length; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
        const p = parseFrame(buf);
        expect(STATUSES).toContain(p.status);
        seen.set(p.status, (seen.get(p.status) ?? 0) + 1);
        if (p.status === 'ok' || (p.status === 'fragment' && p.family === 6)) {
          expect(p.payloadOffset! + p.payloadLength!).toBeLessThanOrEqual(buf.length);
          if (p.family === 6) expect(p.payloadOffset).toBeGreaterThanOrEqual(62);
        }
      }
    }
    expect(seen.get('ok')).toBeGreaterThan(100);
    for (const status of ['truncated', 'bad_ipv6_header', 'bad_extension_header', 'not_udp', 'not_multicast']) expect(seen.get(status), status).toBeGreaterThan(0);
  });
});

describe.skipIf(!built)('IPv6 reassembly (the forwarder\'s table, in-process)', () => {
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

describe.skipIf(!built)('addon argument checking', () => {
  const addon = built ? loadAddon() : ({} as Addon);
  const testAddon = built ? loadTestAddon() : ({} as TestAddon);
  const { Forwarder } = addon;
  const make = (o: unknown) => () => new Forwarder(o as never);
  const good = { interface: 'lo', fanout: 'hash', fanoutId: -1 };

  it('parseFrame rejects non-Buffers with a TypeError', () => {
    const parse = testAddon.parseFrame as unknown as (...x: unknown[]) => { status: string };
    for (const bad of ['nope', 42, null, undefined, {}, [1, 2, 3], new ArrayBuffer(64)]) expect(() => parse(bad)).toThrow(TypeError);
    expect(() => parse()).toThrow(TypeError);
    expect(parse(Buffer.alloc(0))).toEqual({ status: 'truncated' });
    // Node-API treats any ArrayBufferView as a buffer: its bytes are parsed, bounded by its byte length.
    expect(parse(new Uint8Array(frame())).status).toBe('ok');
    expect(parse(new Uint16Array(3)).status).toBe('truncated');
  });

  it('new Forwarder validates its options before opening any socket', () => {
    expect(make(undefined)).toThrow(TypeError);
    expect(make('lo')).toThrow(/options must be an object/);
    expect(make({})).toThrow(/'interface' must be a string/);
    expect(make({ ...good, interface: 42 })).toThrow(TypeError);
    expect(make({ ...good, interface: '' })).toThrow(/bad interface name/);
    expect(make({ ...good, interface: 'x'.repeat(20) })).toThrow(/bad interface name/);
    expect(make({ interface: 'lo', fanoutId: -1 })).toThrow(/'fanout' must be a string/);
    expect(make({ ...good, fanout: 'bogus' })).toThrow(/fanout 'bogus'/);
    expect(make({ interface: 'lo', fanout: 'hash' })).toThrow(/'fanoutId' must be a number/);
    expect(make({ ...good, fanoutId: '7' })).toThrow(/'fanoutId' must be a number/);
    expect(make({ ...good, fanoutId: 1.5 })).toThrow(/'fanoutId' must be an integer/);
    expect(make({ ...good, fanoutId: NaN })).toThrow(/'fanoutId' must be an integer/);
    expect(make({ ...good, fanoutId: 1e20 })).toThrow(/'fanoutId' must be an integer/);
    expect(make({ ...good, fanoutId: 70000 })).toThrow(/out of range/);
    expect(make({ ...good, fanoutId: -2 })).toThrow(/out of range/);
    expect(make({ ...good, ingress: 'tpacket' })).toThrow(/ingress must be 'ring', 'blocks' or 'mmsg'/);
    expect(make({ ...good, ingress: 1 })).toThrow(/ingress must be 'ring', 'blocks' or 'mmsg'/);
    expect(make({ ...good, ringMiB: 0 })).toThrow(/ringMiB 0 out of range/);
    expect(make({ ...good, ringMiB: 'big' })).toThrow(/'ringMiB' must be a number/);
    const getterThrows = { get interface(): string { throw new Error('boom'); } };
    expect(make(getterThrows)).toThrow(/boom/);
  });

  it('an unknown interface is reported by name', () => {
    expect(make({ ...good, interface: 'nosuchif0' })).toThrow(/unknown interface 'nosuchif0'/);
  });

  it('the IGMP helpers and interfaceIndex reject bad arguments', () => {
    const a = addon as unknown as Record<string, (...x: unknown[]) => unknown>;
    expect(() => a.igmpJoin('3', 'lo', '239.1.1.1')).toThrow(/fd must be a non-negative integer/);
    expect(() => a.igmpJoin(NaN, 'lo', '239.1.1.1')).toThrow(/fd must be a non-negative integer/);
    expect(() => a.igmpLeave(-1, 'lo', '239.1.1.1')).toThrow(/fd must be a non-negative integer/);
    expect(() => a.igmpClose(0.5)).toThrow(/fd must be a non-negative integer/);
    expect(() => a.igmpJoin(3, 4, '239.1.1.1')).toThrow(/ifname must be a string/);
    expect(() => a.igmpJoin(3, 'lo')).toThrow(/group must be a string/);
    expect(() => a.interfaceIndex()).toThrow(TypeError);
    expect(addon.interfaceIndex('lo')).toBeGreaterThan(0);
    expect(addon.interfaceIndex('nosuchif0')).toBe(0);
    expect(addon.interfaceIndex('x'.repeat(40))).toBe(0);
  });

  it('IGMP helpers: join/leave with context in the errors', () => {
    const fd = addon.igmpOpenSocket();
    try {
      expect(fd).toBeGreaterThan(2);
      expect(() => addon.igmpJoin(fd, 'lo', '10.0.0.1')).toThrow(/join 10\.0\.0\.1: not a multicast group/);
      expect(() => addon.igmpJoin(fd, 'lo', 'banana')).toThrow(/not an IPv4 address/);
      expect(() => addon.igmpJoin(fd, 'nosuchif0', '239.1.1.1')).toThrow(/join 239\.1\.1\.1 on nosuchif0: unknown interface/);
      // Leaving a group never joined: the kernel says so, with context.
      expect(() => addon.igmpLeave(fd, 'lo', '239.77.77.77')).toThrow(/^leave 239\.77\.77\.77 on lo: /);
      // An IPv6 group on an IPv4 socket: refused, naming the group.
      expect(() => addon.igmpJoin(fd, 'lo', 'ff15::1')).toThrow(/^join ff15::1: an IPv6 group on an IPv4 helper socket/);
      expect(() => addon.igmpJoinSource(fd, 'lo', 'ff35::1', 'fd00::1')).toThrow(/^join ff35::1: an IPv6 group on an IPv4 helper socket/);
      expect(() => addon.igmpJoinSource(fd, 'lo', '232.1.1.1', 'fd00::1')).toThrow(/^join 232\.1\.1\.1 source fd00::1: not an IPv4 address/);
    } finally {
      addon.igmpClose(fd);
    }
  });

  it('MLD helpers (family 6): join/leave with context in the errors', () => {
    const a = addon as unknown as Record<string, (...x: unknown[]) => unknown>;
    expect(() => a.igmpOpenSocket(5)).toThrow(/family must be 4 or 6/);
    expect(() => a.igmpOpenSocket('6')).toThrow(/family must be 4 or 6/);
    const fd = addon.igmpOpenSocket(6);
    try {
      expect(fd).toBeGreaterThan(2);
      expect(() => addon.igmpJoin(fd, 'lo', '239.1.1.1')).toThrow(/^join 239\.1\.1\.1: an IPv4 group on an IPv6 helper socket/);
      expect(() => addon.igmpJoin(fd, 'lo', 'fd00::1')).toThrow(/^join fd00::1: not a multicast group/);
      expect(() => addon.igmpJoin(fd, 'lo', 'ff15::zz')).toThrow(/^join ff15::zz: not an IPv6 address/);
      expect(() => addon.igmpJoin(fd, 'nosuchif0', 'ff15::1')).toThrow(/^join ff15::1 on nosuchif0: unknown interface/);
      expect(() => addon.igmpJoinSource(fd, 'lo', 'ff35::1', '10.0.0.1')).toThrow(/^join ff35::1 source 10\.0\.0\.1: not an IPv6 address/);
      expect(() => addon.igmpLeave(fd, 'lo', 'ff15::7777')).toThrow(/^leave ff15::7777 on lo: /);
    } finally {
      addon.igmpClose(fd);
    }
    // The old call still opens an IPv4 socket.
    const v4 = addon.igmpOpenSocket();
    try {
      expect(() => addon.igmpJoin(v4, 'lo', 'ff15::1')).toThrow(/IPv6 group on an IPv4 helper socket/);
    } finally {
      addon.igmpClose(v4);
    }
  });
});
