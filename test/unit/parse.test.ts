// Frame parser: crafted frames, every malformed class, and random garbage. Never a crash.
// (The IPv6 reassembly table: reassembly.test.ts; the addon's argument checking: addon-args.test.ts.)
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { loadTestAddon, testAddonPath, type TestAddon } from '../../relay/src/test-addon.js';
import { fragments6, frame, frame6 } from '../../harness/src/frames.js';

const built = existsSync(testAddonPath);
if (!built) console.warn(`SKIPPED parser tests: ${testAddonPath} missing (run npm install)`);

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
