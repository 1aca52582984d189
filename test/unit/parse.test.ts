// Frame parser: crafted frames, every malformed class, and random garbage. Never a crash.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadAddon, projectRoot } from '../../relay/src/native.js';

const built = existsSync(path.join(projectRoot, 'build', 'Release', 'mcr.node'));
if (!built) console.warn('SKIPPED parser tests: build/Release/mcr.node missing (run npm install)');

interface FrameOptions {
  vlan?: number;
  options?: number; // IPv4 option bytes (multiple of 4)
  proto?: number;
  dst?: number[];
  flagsFragment?: number;
  payload?: number;
  padding?: number;
  ihl?: number;
  totalLengthDelta?: number;
  udpLengthDelta?: number;
}

/** Builds Ethernet [+ 802.1Q] + IPv4 [+ options] + UDP + payload. */
function frame(o: FrameOptions = {}): Buffer {
  const payload = Buffer.alloc(o.payload ?? 20, 0xab);
  const optionBytes = o.options ?? 0;
  const ihl = o.ihl ?? 5 + optionBytes / 4;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(5000, 2);
  udp.writeUInt16BE(8 + payload.length + (o.udpLengthDelta ?? 0), 4);
  const ip = Buffer.alloc(20 + optionBytes);
  ip[0] = 0x40 | (ihl & 0x0f);
  ip.writeUInt16BE(20 + optionBytes + 8 + payload.length + (o.totalLengthDelta ?? 0), 2);
  ip.writeUInt16BE(o.flagsFragment ?? 0, 6);
  ip[8] = 7;
  ip[9] = o.proto ?? 17;
  Buffer.from([10, 0, 0, 1]).copy(ip, 12);
  Buffer.from(o.dst ?? [239, 1, 2, 3]).copy(ip, 16);
  const eth = Buffer.alloc(o.vlan === undefined ? 14 : 18);
  if (o.vlan !== undefined) {
    eth.writeUInt16BE(0x8100, 12);
    eth.writeUInt16BE(o.vlan, 14);
    eth.writeUInt16BE(0x0800, 16);
  } else eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip, udp, payload, Buffer.alloc(o.padding ?? 0)]);
}

describe.skipIf(!built)('frame parser', () => {
  const { parseFrame } = built ? loadAddon() : ({} as ReturnType<typeof loadAddon>);

  it('parses a UDP multicast frame', () => {
    expect(parseFrame(frame())).toEqual({ status: 'ok', src: '10.0.0.1', dst: '239.1.2.3', srcPort: 40000, dstPort: 5000, ttl: 7, payloadOffset: 42, payloadLength: 20 });
  });

  it('handles IP options, a VLAN tag and Ethernet padding', () => {
    expect(parseFrame(frame({ options: 8 }))).toMatchObject({ status: 'ok', payloadOffset: 50, payloadLength: 20 });
    expect(parseFrame(frame({ vlan: 42 }))).toMatchObject({ status: 'ok', vlan: 42, payloadOffset: 46 });
    expect(parseFrame(frame({ payload: 2, padding: 16 }))).toMatchObject({ status: 'ok', payloadLength: 2 });
  });

  it.each([
    ['empty', Buffer.alloc(0), 'truncated'],
    ['ethernet only', frame().subarray(0, 14), 'truncated'],
    ['half an IP header', frame().subarray(0, 24), 'truncated'],
    ['VLAN tag cut', frame({ vlan: 1 }).subarray(0, 15), 'truncated'],
    ['ARP', Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]), 'not_ipv4'],
    ['IPv6 version nibble', (() => { const f = frame(); f[14] = 0x65; return f; })(), 'not_ipv4'],
    ['IHL < 5', frame({ ihl: 4 }), 'bad_ihl'],
    ['IHL past the end', frame({ ihl: 15, payload: 0 }).subarray(0, 40), 'truncated'],
    ['total length too long', frame({ totalLengthDelta: 100 }), 'bad_total_length'],
    ['total length too short', frame({ totalLengthDelta: -25 }), 'bad_total_length'],
    ['more fragments', frame({ flagsFragment: 0x2000 }), 'fragment'],
    ['fragment offset', frame({ flagsFragment: 0x0010 }), 'fragment'],
    ['TCP', frame({ proto: 6 }), 'not_udp'],
    ['unicast', frame({ dst: [10, 0, 0, 2] }), 'not_multicast'],
    ['UDP length > IP payload', frame({ udpLengthDelta: 10 }), 'bad_udp_length'],
    ['UDP length < 8', frame({ udpLengthDelta: -21 }), 'bad_udp_length'],
  ])('drops %s as %s', (_name, buf, status) => {
    expect(parseFrame(buf as Buffer).status).toBe(status);
  });

  it('survives 20,000 random buffers and 20,000 mutations of a valid frame', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const statuses = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const buf = Buffer.alloc(Math.floor(rand() * 200));
      for (let k = 0; k < buf.length; k++) buf[k] = Math.floor(rand() * 256);
      if (buf.length > 13 && rand() < 0.5) buf.writeUInt16BE(0x0800, 12);
      statuses.add(parseFrame(buf).status);
    }
    const valid = frame({ options: 4 });
    for (let i = 0; i < 20_000; i++) {
      const buf = Buffer.from(valid.subarray(0, Math.floor(rand() * (valid.length + 1))));
      for (let k = 0; k < 3 && buf.length; k++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      statuses.add(parseFrame(buf).status);
    }
    expect(statuses.has('ok')).toBe(true);
    expect(statuses.has('truncated')).toBe(true);
  });

  it('rejects wrong argument types with a TypeError instead of crashing', () => {
    expect(() => (parseFrame as unknown as (x: unknown) => void)('nope')).toThrow(TypeError);
    const { Forwarder } = loadAddon();
    expect(() => new Forwarder({} as never)).toThrow(/'interface' must be a string/);
    expect(() => new Forwarder({ interface: 'lo', fanout: 'bogus' } as never)).toThrow(/fanout 'bogus'/);
    expect(() => new Forwarder({ interface: 'lo', fanout: 'hash', fanoutId: 70000 } as never)).toThrow(/out of range/);
    expect(() => new Forwarder({ interface: 'x'.repeat(20), fanout: 'hash', fanoutId: -1 } as never)).toThrow(/bad interface name/);
  });
});
