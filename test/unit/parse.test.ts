// Frame parser: crafted frames, every malformed class, and random garbage. Never a crash.
// Also: the addon's argument checking (bad options throw before any socket is opened).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadAddon, projectRoot, type Addon } from '../../relay/src/native.js';
import { frame } from '../../harness/src/frames.js';

const built = existsSync(path.join(projectRoot, 'build', 'Release', 'mcr.node'));
if (!built) console.warn('SKIPPED parser tests: build/Release/mcr.node missing (run npm install)');

const STATUSES = ['ok', 'truncated', 'not_ipv4', 'bad_ihl', 'bad_total_length', 'fragment', 'not_udp', 'bad_udp_length', 'not_multicast'];

describe.skipIf(!built)('frame parser', () => {
  const addon = built ? loadAddon() : ({} as Addon);
  const { parseFrame } = addon;

  it('parses a UDP multicast frame', () => {
    expect(parseFrame(frame())).toEqual({ status: 'ok', src: '10.0.0.1', dst: '239.1.2.3', srcPort: 40000, dstPort: 5000, ttl: 7, tos: 0, payloadOffset: 42, payloadLength: 20 });
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
    ['ARP', Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]), 'not_ipv4'],
    ['IPv6 ethertype', frame({ ethertype: 0x86dd }), 'not_ipv4'],
    ['IPv6 behind a VLAN tag', frame({ tags: [[0x8100, 1]], ethertype: 0x86dd }), 'not_ipv4'],
    ['three VLAN tags', frame({ tags: [[0x88a8, 1], [0x8100, 2], [0x8100, 3]] }), 'not_ipv4'],
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
    } finally {
      addon.igmpClose(fd);
    }
  });
});
