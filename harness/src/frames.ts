// Ethernet frames built byte by byte: the parser's tests and `npm run bench` feed them to the addon.

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
