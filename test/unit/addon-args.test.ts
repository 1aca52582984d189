// The addon's argument checking: bad options and arguments throw, with context, before any socket
// is opened; the IGMP and MLD helpers name what failed.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { addonPath, loadAddon, type Addon } from '../../relay/src/native.js';
import { loadTestAddon, testAddonPath, type TestAddon } from '../../relay/src/test-addon.js';
import { frame } from '../../harness/src/frames.js';

const built = existsSync(addonPath) && existsSync(testAddonPath);
if (!built) console.warn(`SKIPPED addon argument tests: ${addonPath} or ${testAddonPath} missing (run npm install)`);

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
