// Ethernet frames built byte by byte, IPv4 (frame) and IPv6 (frame6): the parser's tests, the
// fuzzer's seeds and `npm run bench` feed them to the addon; integration tests inject them.

export interface FrameOptions {
  /** VLAN tags, outermost first: [tpid, vid]. */
  tags?: [number, number][];
  ethertype?: number;
  options?: number; // IPv4 option bytes (multiple of 4)
  version?: number;
  ihl?: number;
  proto?: number;
  src?: number[];
  dst?: number[];
  ttl?: number;
  flagsFragment?: number;
  payload?: number;
  padding?: number;
  totalLengthDelta?: number;
  udpLengthDelta?: number;
}

/** Builds Ethernet [+ tags] + IPv4 [+ options] + UDP + payload [+ padding]. */
export function frame(o: FrameOptions = {}): Buffer {
  const payload = Buffer.alloc(o.payload ?? 20);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  const optionBytes = o.options ?? 0;
  const ihl = o.ihl ?? 5 + optionBytes / 4;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(5000, 2);
  udp.writeUInt16BE(8 + payload.length + (o.udpLengthDelta ?? 0), 4);
  const ip = Buffer.alloc(20 + optionBytes, 0x01); // option bytes: NOP
  ip[0] = ((o.version ?? 4) << 4) | (ihl & 0x0f);
  ip[1] = 0;
  ip.writeUInt16BE(20 + optionBytes + 8 + payload.length + (o.totalLengthDelta ?? 0), 2);
  ip.writeUInt16BE(0, 4);
  ip.writeUInt16BE(o.flagsFragment ?? 0, 6);
  ip[8] = o.ttl ?? 7;
  ip[9] = o.proto ?? 17;
  ip.writeUInt16BE(0, 10);
  Buffer.from(o.src ?? [10, 0, 0, 1]).copy(ip, 12);
  Buffer.from(o.dst ?? [239, 1, 2, 3]).copy(ip, 16);
  const tags = o.tags ?? [];
  const eth = Buffer.alloc(14 + 4 * tags.length);
  Buffer.from([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03, 0x02, 0, 0, 0, 0, 1]).copy(eth, 0);
  tags.forEach(([tpid, vid], i) => {
    eth.writeUInt16BE(tpid, 12 + 4 * i);
    eth.writeUInt16BE(vid, 14 + 4 * i);
  });
  eth.writeUInt16BE(o.ethertype ?? 0x0800, 12 + 4 * tags.length);
  return Buffer.concat([eth, ip, udp, payload, Buffer.alloc(o.padding ?? 0)]);
}

/** An IPv6 extension header for frame6: hop-by-hop (0), routing (43), fragment (44), destination options (60), or any other type. */
export interface ExtensionHeader {
  type: number;
  /** Bytes, a multiple of 8 (default 8); written into the header's length byte as size / 8 - 1. */
  size?: number;
  /** Overrides the length byte (a header that claims more than it has). */
  lengthByte?: number;
  /** Fragment header: offset in 8-byte units, the more-fragments flag and the identification (default 0x12345678). */
  offset?: number;
  more?: boolean;
  id?: number;
}

export interface Frame6Options {
  /** VLAN tags, outermost first: [tpid, vid]. */
  tags?: [number, number][];
  version?: number;
  trafficClass?: number;
  flowLabel?: number;
  hopLimit?: number;
  src?: string;
  dst?: string;
  /** Extension headers between the fixed header and UDP, in order. */
  ext?: ExtensionHeader[];
  /** The next header after the extension headers (default 17, UDP). */
  proto?: number;
  srcPort?: number;
  dstPort?: number;
  payload?: number;
  /** Or the payload bytes themselves. */
  payloadBytes?: Buffer;
  padding?: number;
  /** Payload length field: its true value plus this. */
  payloadLengthDelta?: number;
  /** Payload length field, exactly (0: jumbogram). */
  payloadLength?: number;
  udpLengthDelta?: number;
  /** The bytes after the extension headers, instead of a UDP header and payload (a fragment's data). */
  body?: Buffer;
}

/** 16 bytes of an IPv6 address in text form ('ff15::8', '2001:db8::1'; no embedded IPv4). */
export function ipv6Bytes(text: string): Buffer {
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`'${text}' is not an IPv6 address`);
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`'${text}' is not an IPv6 address`);
    return parseInt(g, 16);
  }));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0) || (halves.length === 2 && fill < 1)) throw new Error(`'${text}' is not an IPv6 address`);
  const words = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

/** Builds Ethernet [+ tags] + IPv6 [+ extension headers] + UDP + payload [+ padding]. */
export function frame6(o: Frame6Options = {}): Buffer {
  const ext = o.ext ?? [];
  const headers = ext.map((e, i) => {
    const size = e.size ?? 8;
    const h = Buffer.alloc(size); // options area: Pad1 bytes (0)
    h[0] = i + 1 < ext.length ? ext[i + 1].type : (o.proto ?? 17);
    if (e.type === 44) {
      h[1] = 0;
      h.writeUInt16BE(((e.offset ?? 0) << 3) | (e.more ? 1 : 0), 2);
      h.writeUInt32BE((e.id ?? 0x12345678) >>> 0, 4);
    } else {
      h[1] = e.lengthByte ?? size / 8 - 1;
    }
    return h;
  });
  const body = Buffer.concat([...headers, o.body ?? udpDatagram6(o)]);
  const ip = Buffer.alloc(40);
  const tc = o.trafficClass ?? 0;
  ip.writeUInt32BE((((o.version ?? 6) & 0xf) << 28 | (tc & 0xff) << 20 | ((o.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
  ip.writeUInt16BE(o.payloadLength ?? body.length + (o.payloadLengthDelta ?? 0), 4);
  ip[6] = ext.length ? ext[0].type : (o.proto ?? 17);
  ip[7] = o.hopLimit ?? 7;
  ipv6Bytes(o.src ?? 'fd00::1').copy(ip, 8);
  const dst = ipv6Bytes(o.dst ?? 'ff15::8');
  dst.copy(ip, 24);
  const tags = o.tags ?? [];
  const eth = Buffer.alloc(14 + 4 * tags.length);
  Buffer.from([0x33, 0x33, dst[12], dst[13], dst[14], dst[15], 0x02, 0, 0, 0, 0, 1]).copy(eth, 0);
  tags.forEach(([tpid, vid], i) => {
    eth.writeUInt16BE(tpid, 12 + 4 * i);
    eth.writeUInt16BE(vid, 14 + 4 * i);
  });
  eth.writeUInt16BE(0x86dd, 12 + 4 * tags.length);
  return Buffer.concat([eth, ip, body, Buffer.alloc(o.padding ?? 0)]);
}

/** The UDP header and payload frame6 would send (for fragments6, and to check a reassembled datagram against). */
export function udpDatagram6(o: Frame6Options = {}): Buffer {
  let payload = o.payloadBytes;
  if (!payload) {
    payload = Buffer.alloc(o.payload ?? 20);
    for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  }
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(o.srcPort ?? 40000, 0);
  udp.writeUInt16BE(o.dstPort ?? 5000, 2);
  udp.writeUInt16BE((8 + payload.length + (o.udpLengthDelta ?? 0)) & 0xffff, 4);
  return Buffer.concat([udp, payload]);
}

/**
 * An IPv6 UDP datagram cut into fragments as a sender's stack cuts it: each frame carries at most
 * fragmentSize bytes (a multiple of 8) of the UDP header + payload behind a fragment header with
 * identification id, in order (o.ext: extension headers before it, the unfragmentable part).
 */
export function fragments6(o: Frame6Options & { fragmentSize: number; id?: number }): Buffer[] {
  if (o.fragmentSize <= 0 || o.fragmentSize % 8 !== 0) throw new Error(`fragment size ${o.fragmentSize} is not a positive multiple of 8`);
  const datagram = udpDatagram6(o);
  const frames: Buffer[] = [];
  for (let at = 0; at < datagram.length; at += o.fragmentSize) {
    const slice = datagram.subarray(at, at + o.fragmentSize);
    const more = at + o.fragmentSize < datagram.length;
    frames.push(frame6({ ...o, ext: [...(o.ext ?? []), { type: 44, offset: at / 8, more, id: o.id ?? 0x12345678 }], body: slice }));
  }
  return frames;
}
