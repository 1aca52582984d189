// The MCR test payload (harness/native/payload.h is the reference; this mirror is for tests and
// tools, not for the hot path). Little-endian, a 40-byte header, then a fill pattern:
//   0 magic u32 = 0x3152434d ("MCR1")   4 version u8 = 1   5 flags u8 (bit 0: warm-up)
//   6 header length u16 = 40            8 run id u32      12 stream id u32
//  16 sequence u64                      24 tx time u64 (CLOCK_MONOTONIC ns)
//  32 payload length u32 (the whole UDP payload)          36 check u32
// check: 64-bit FNV-1a over the payload's little-endian 8-byte words (the check field zeroed, a
// short tail zero-padded to a word), folded to 32 bits as lo32(h) ^ hi32(h).
// Fill: byte at offset i (40 <= i < length) = (stream*31 + seq*17 + i) mod 256.

export const PAYLOAD_MAGIC = 0x3152434d;
export const PAYLOAD_VERSION = 1;
export const HEADER_SIZE = 40;
export const MIN_PAYLOAD = HEADER_SIZE;
export const MAX_PAYLOAD = 1472;
export const FLAG_WARMUP = 1;

/** Byte offsets of the header fields. */
export const OFFSET = {
  magic: 0,
  version: 4,
  flags: 5,
  headerLength: 6,
  runId: 8,
  stream: 12,
  seq: 16,
  txNs: 24,
  length: 32,
  check: 36,
} as const;

export interface PayloadHeader {
  flags: number;
  runId: number;
  stream: number;
  seq: bigint;
  txNs: bigint;
  /** Whole UDP payload length. */
  length: number;
}

export type PayloadStatus = 'ok' | 'foreign' | 'corrupted';

export interface Decoded {
  status: PayloadStatus;
  /** Present unless the packet is too short or not ours (magic, version, header length). */
  header?: PayloadHeader;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** The check over buf (the bytes at 36..39 are treated as zero). */
export function payloadCheck(buf: Uint8Array): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let h = FNV_OFFSET;
  let i = 0;
  for (; i + 8 <= buf.length; i += 8) {
    let w = view.getBigUint64(i, true);
    if (i === 32) w &= 0xffffffffn;
    h = ((h ^ w) * FNV_PRIME) & MASK64;
  }
  if (i < buf.length) {
    let w = 0n;
    for (let k = buf.length - 1; k >= i; k--) w = (w << 8n) | BigInt(buf[k]);
    h = ((h ^ w) * FNV_PRIME) & MASK64;
  }
  return Number((h ^ (h >> 32n)) & 0xffffffffn);
}

/** Fill byte at offset i for (stream, seq). */
export function fillByte(stream: number, seq: bigint, i: number): number {
  return Number((BigInt(stream) * 31n + seq * 17n + BigInt(i)) & 0xffn);
}

export function encodePayload(h: Omit<PayloadHeader, 'length'> & { length?: number }, size = h.length ?? 64): Buffer {
  if (!Number.isInteger(size) || size < MIN_PAYLOAD || size > MAX_PAYLOAD) throw new RangeError(`payload size ${size} outside ${MIN_PAYLOAD}..${MAX_PAYLOAD}`);
  const buf = Buffer.alloc(size);
  buf.writeUInt32LE(PAYLOAD_MAGIC, OFFSET.magic);
  buf.writeUInt8(PAYLOAD_VERSION, OFFSET.version);
  buf.writeUInt8(h.flags & 0xff, OFFSET.flags);
  buf.writeUInt16LE(HEADER_SIZE, OFFSET.headerLength);
  buf.writeUInt32LE(h.runId >>> 0, OFFSET.runId);
  buf.writeUInt32LE(h.stream >>> 0, OFFSET.stream);
  buf.writeBigUInt64LE(h.seq, OFFSET.seq);
  buf.writeBigUInt64LE(h.txNs, OFFSET.txNs);
  buf.writeUInt32LE(size, OFFSET.length);
  for (let i = HEADER_SIZE; i < size; i++) buf[i] = fillByte(h.stream, h.seq, i);
  buf.writeUInt32LE(payloadCheck(buf), OFFSET.check);
  return buf;
}

/**
 * Classifies like mcr-sink: foreign = too short or not our magic/version/header length, or another
 * run (when runId is given); corrupted = ours but the length field or the check is wrong.
 */
export function decodePayload(buf: Uint8Array, runId?: number): Decoded {
  if (buf.length < HEADER_SIZE) return { status: 'foreign' };
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.readUInt32LE(OFFSET.magic) !== PAYLOAD_MAGIC || b[OFFSET.version] !== PAYLOAD_VERSION || b.readUInt16LE(OFFSET.headerLength) !== HEADER_SIZE) {
    return { status: 'foreign' };
  }
  const header: PayloadHeader = {
    flags: b[OFFSET.flags],
    runId: b.readUInt32LE(OFFSET.runId),
    stream: b.readUInt32LE(OFFSET.stream),
    seq: b.readBigUInt64LE(OFFSET.seq),
    txNs: b.readBigUInt64LE(OFFSET.txNs),
    length: b.readUInt32LE(OFFSET.length),
  };
  if (header.length !== b.length || b.readUInt32LE(OFFSET.check) !== payloadCheck(b)) return { status: 'corrupted', header };
  if (runId !== undefined && header.runId !== runId >>> 0) return { status: 'foreign', header };
  return { status: 'ok', header };
}
