// Frame parser: crafted frames, every malformed class, and random garbage. Never a crash.
// Also: the addon's argument checking (bad options throw before any socket is opened).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadAddon, projectRoot, type Addon } from '../../relay/src/native.js';
import { frame, frame6 } from '../../harness/src/frames.js';

const built = existsSync(path.join(projectRoot, 'build', 'Release', 'mcr.node'));
if (!built) console.warn('SKIPPED parser tests: build/Release/mcr.node missing (run npm install)');

const STATUSES = ['ok', 'truncated', 'not_ip', 'bad_ihl', 'bad_total_length', 'fragment', 'not_udp', 'bad_udp_length', 'not_multicast', 'bad_ipv6_header', 'jumbogram', 'bad_extension_header', 'too_many_extension_headers'];

describe.skipIf(!built)('frame parser', () => {
  const addon = built ? loadAddon() : ({} as Addon);
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
  const addon = built ? loadAddon() : ({} as Addon);
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
    ['fragment header', frame6({ ext: [{ type: 44, more: true }] }), 'fragment'],
    ['last fragment', frame6({ ext: [{ type: 44, offset: 100 }] }), 'fragment'],
    ['atomic fragment (offset 0, no more)', frame6({ ext: [{ type: 44 }] }), 'fragment'],
    ['fragment header after hop-by-hop and destination options', frame6({ ext: [hbh, dest(), { type: 44, more: true }] }), 'fragment'],
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

  it('survives 60,000 mutations of valid IPv6 frames, never reading past the end', () => {
    let seed = 6789;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const seen = new Map<string, number>();
    const bases = [frame6(), frame6({ ext: [hbh, dest(16), routing] }), frame6({ tags: [[0x8100, 9]], ext: [hbh], payload: 3, padding: 20 })];
    for (const valid of bases) {
      for (let i = 0; i < 20_000; i++) {
        const buf = Buffer.from(valid.subarray(0, Math.floor(rand() * (valid.length + 1))));
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips && buf.length; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
        const p = parseFrame(buf);
        expect(STATUSES).toContain(p.status);
        seen.set(p.status, (seen.get(p.status) ?? 0) + 1);
        if (p.status === 'ok') {
          expect(p.payloadOffset! + p.payloadLength!).toBeLessThanOrEqual(buf.length);
          if (p.family === 6) expect(p.payloadOffset).toBeGreaterThanOrEqual(62);
        }
      }
    }
    expect(seen.get('ok')).toBeGreaterThan(100);
    for (const status of ['truncated', 'bad_ipv6_header', 'bad_extension_header', 'not_udp', 'not_multicast']) expect(seen.get(status), status).toBeGreaterThan(0);
  });
});

describe.skipIf(!built)('addon argument checking', () => {
  const addon = built ? loadAddon() : ({} as Addon);
  const { Forwarder } = addon;
  const make = (o: unknown) => () => new Forwarder(o as never);
  const good = { interface: 'lo', fanout: 'hash', fanoutId: -1 };

  it('parseFrame rejects non-Buffers with a TypeError', () => {
    const parse = addon.parseFrame as unknown as (...x: unknown[]) => unknown;
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
