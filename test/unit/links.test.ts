// rtnetlink link messages as the kernel sends them, parsed by the addon (relay/native/links.cc).
import { describe, expect, it } from 'vitest';
import { loadTestAddon } from '../../relay/src/test-addon.js';

const addon = loadTestAddon();
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const IFLA_IFNAME = 3;
const IFF_UP = 1;

/** nlmsghdr (16) + ifinfomsg (16) + one IFLA_IFNAME attribute, 4-byte aligned. */
function linkMessage(type: number, index: number, name: string, flags = 0): Buffer {
  const nameBytes = Buffer.from(name + '\0');
  const attrLen = 4 + nameBytes.length;
  const attr = Buffer.alloc((attrLen + 3) & ~3);
  attr.writeUInt16LE(attrLen, 0);
  attr.writeUInt16LE(IFLA_IFNAME, 2);
  nameBytes.copy(attr, 4);
  const body = Buffer.alloc(16);
  body.writeInt32LE(index, 4);
  body.writeUInt32LE(flags, 8);
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length + attr.length, 0);
  head.writeUInt16LE(type, 4);
  return Buffer.concat([head, body, attr]);
}

describe('rtnetlink link messages', () => {
  it('reads added and removed links with index, name and up flag, several per datagram', () => {
    const datagram = Buffer.concat([linkMessage(RTM_NEWLINK, 7, 'veth0', IFF_UP), linkMessage(RTM_DELLINK, 8, 'eth1')]);
    expect(addon.parseLinkMessages(datagram)).toEqual([
      { kind: 'added', index: 7, name: 'veth0', up: true },
      { kind: 'removed', index: 8, name: 'eth1', up: false },
    ]);
  });

  it('skips other message types and stops at a length that lies', () => {
    const other = linkMessage(RTM_NEWLINK, 1, 'x');
    other.writeUInt16LE(20, 4); // RTM_NEWADDR
    const lying = linkMessage(RTM_NEWLINK, 2, 'y');
    lying.writeUInt32LE(4096, 0);
    expect(addon.parseLinkMessages(Buffer.concat([other, linkMessage(RTM_NEWLINK, 3, 'z'), lying]))).toEqual([{ kind: 'added', index: 3, name: 'z', up: false }]);
  });

  it('a name without its terminating zero is cut at IFNAMSIZ, never read past the attribute', () => {
    const msg = linkMessage(RTM_NEWLINK, 4, 'abcdefghijklmnopqrstuvwxyz'.slice(0, 20));
    expect(addon.parseLinkMessages(msg)[0].kind).toBe('added');
    expect((addon.parseLinkMessages(msg)[0] as { name: string }).name).toHaveLength(16);
  });

  it('survives 20,000 random and truncated datagrams', () => {
    const valid = Buffer.concat([linkMessage(RTM_NEWLINK, 7, 'veth0'), linkMessage(RTM_DELLINK, 8, 'eth1')]);
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 10_000; i++) {
      const junk = Buffer.alloc(Math.floor(random() * 128));
      for (let k = 0; k < junk.length; k++) junk[k] = Math.floor(random() * 256);
      expect(Array.isArray(addon.parseLinkMessages(junk))).toBe(true);
      const cut = Buffer.from(valid.subarray(0, Math.floor(random() * valid.length)));
      if (cut.length > 8) cut[Math.floor(random() * cut.length)] ^= 0xff;
      expect(Array.isArray(addon.parseLinkMessages(cut))).toBe(true);
    }
  });
});
