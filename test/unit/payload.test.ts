// The payload layout: JS encoder/decoder round trip, the check against damage, and agreement with
// the native encoder (mcr-gen --dump sends nothing, so no privileges are needed).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GEN_BIN } from '../../harness/src/binaries.js';
import {
  decodePayload,
  encodePayload,
  fillByte,
  FLAG_WARMUP,
  HEADER_SIZE,
  MAX_PAYLOAD,
  OFFSET,
  PAYLOAD_MAGIC,
  payloadCheck,
} from '../../harness/src/payload.js';

const header = { flags: 0, runId: 0xdeadbeef, stream: 7, seq: 123_456_789_012n, txNs: 987_654_321_000n };

describe('payload', () => {
  it('round-trips every field at the sizes the tools accept', () => {
    for (const size of [40, 41, 47, 48, 64, 333, 1024, 1471, 1472]) {
      const buf = encodePayload({ ...header, flags: FLAG_WARMUP }, size);
      expect(buf.length).toBe(size);
      expect(buf.readUInt32LE(0)).toBe(PAYLOAD_MAGIC);
      expect(buf.subarray(0, 4).toString('latin1')).toBe('MCR1');
      const d = decodePayload(buf, header.runId);
      expect(d.status).toBe('ok');
      expect(d.header).toEqual({ ...header, flags: FLAG_WARMUP, length: size });
      for (let i = HEADER_SIZE; i < size; i++) expect(buf[i]).toBe(fillByte(7, header.seq, i));
    }
  });

  it('rejects sizes outside 40..1472', () => {
    expect(() => encodePayload(header, 39)).toThrow(RangeError);
    expect(() => encodePayload(header, MAX_PAYLOAD + 1)).toThrow(RangeError);
  });

  it('the check catches a flipped byte anywhere outside the identifying header fields', () => {
    for (const size of [40, 45, 64, 1472]) {
      const good = encodePayload(header, size);
      for (let i = 0; i < size; i++) {
        for (const mask of [0x01, 0x80, 0xff, 0x5a]) {
          const bad = Buffer.from(good);
          bad[i] ^= mask;
          const d = decodePayload(bad, header.runId);
          // Magic, version and header length identify the payload: damage there makes it foreign.
          const identifying = i < 8 && i !== OFFSET.flags;
          expect(d.status, `byte ${i} ^ ${mask} at size ${size}`).toBe(identifying ? 'foreign' : 'corrupted');
        }
      }
    }
  });

  it('the check ignores its own field and a wrong length is corruption', () => {
    const buf = encodePayload(header, 100);
    const check = buf.readUInt32LE(OFFSET.check);
    buf.writeUInt32LE(0, OFFSET.check);
    expect(payloadCheck(buf)).toBe(check);
    buf.writeUInt32LE(check, OFFSET.check);
    expect(decodePayload(buf.subarray(0, 99)).status).toBe('corrupted');
  });

  it('another run id, a short buffer or foreign bytes are foreign', () => {
    expect(decodePayload(encodePayload(header, 64), 1).status).toBe('foreign');
    expect(decodePayload(encodePayload(header, 64)).status).toBe('ok');
    expect(decodePayload(Buffer.alloc(39)).status).toBe('foreign');
    expect(decodePayload(Buffer.alloc(200, 0x41)).status).toBe('foreign');
  });

  it.skipIf(!existsSync(GEN_BIN))('matches the native encoder (mcr-gen --dump)', () => {
    for (const size of [40, 61, 64, 1472]) {
      const lines = execFileSync(GEN_BIN, ['--dump', '5', '--size', String(size), '--run-id', '42']).toString().trim().split('\n');
      expect(lines).toHaveLength(5);
      lines.forEach((hex, seq) => {
        const native = Buffer.from(hex, 'hex');
        const d = decodePayload(native, 42);
        expect(d.status).toBe('ok');
        expect(d.header).toMatchObject({ flags: 0, runId: 42, stream: 1, seq: BigInt(seq), length: size });
        expect(encodePayload(d.header!, size).equals(native)).toBe(true);
      });
    }
  });
});
