// A passive tap on the contender's input link: tcpdump in the relay namespace writes the frames'
// first bytes as pcap, and we keep, per stream, the last packet that came in (its sequence number
// and the send time the generator wrote in it). It joins nothing (a packet socket), so it cannot
// keep a group flowing through the snooping bridge: what it sees is what the bridge still sends.
import { setTimeout as sleep } from 'node:timers/promises';
import { nsSpawn } from '../../netns/spawn.js';
import { OFFSET, PAYLOAD_MAGIC } from './payload.js';

/** Ethernet + IPv6 + UDP + the 40-byte MCR header, rounded up. */
const SNAPLEN = 128;
// --immediate-mode: without it libpcap's TPACKET_V3 ring hands frames over a block at a time, after
// up to tcpdump's 1 s timeout, and the frames of a block not yet handed over at SIGINT are lost
// (measured: the last 286 ms of a 1000/s stream missing).
/** tcpdump's kernel buffer, KiB: with 1000 socat processes busy on 2 cores the default 2 MiB overflowed. */
const TAP_BUFFER_KIB = 65536;
const PCAP_HEADER = 24;
const RECORD_HEADER = 16;
const ETH_HEADER = 14;
const UDP_HEADER = 8;
const IPPROTO_UDP = 17;
/** Drained: no new packet read in this long, with the traffic stopped. On SIGINT tcpdump leaves unread frames unread. */
const QUIET_MS = 300;
const DRAIN_TIMEOUT_MS = 30_000;

export interface TappedStream {
  /** Packets of this stream seen on the input link while the tap ran. */
  packets: number;
  /** The last one: its sequence number and the generator's send time (CLOCK_MONOTONIC ns). */
  lastSeq: number;
  lastTxNs: number;
}

export interface TapResult {
  streams: Map<number, TappedStream>;
  /** Frames the kernel dropped before tcpdump read them (its own count at exit). */
  droppedByKernel: number;
  command: string;
}

export interface RunningTap {
  /** Resolves once tcpdump has read everything in its buffer (no new packet for a while): call it after the traffic stopped. */
  drained(): Promise<void>;
  stop(): Promise<TapResult>;
}

/** The UDP payload's offset in an Ethernet frame, or -1 when it is not UDP over IPv4/IPv6. */
function udpPayloadOffset(frame: Buffer): number {
  const type = frame.length >= ETH_HEADER ? frame.readUInt16BE(12) : 0;
  if (type === 0x0800 && frame.length > ETH_HEADER + 20) {
    const ihl = (frame[ETH_HEADER] & 0x0f) * 4;
    return frame[ETH_HEADER + 9] === IPPROTO_UDP ? ETH_HEADER + ihl + UDP_HEADER : -1;
  }
  if (type === 0x86dd && frame.length > ETH_HEADER + 40) return frame[ETH_HEADER + 6] === IPPROTO_UDP ? ETH_HEADER + 40 + UDP_HEADER : -1;
  return -1;
}

/** Reads pcap records (little-endian, nanosecond) as they stream in; keeps the last packet per stream of runId. */
function pcapReader(runId: number, streams: Map<number, TappedStream>): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let headerSeen = false;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    let at = 0;
    if (!headerSeen) {
      if (pending.length < PCAP_HEADER) return;
      headerSeen = true;
      at = PCAP_HEADER;
    }
    while (pending.length - at >= RECORD_HEADER) {
      const caplen = pending.readUInt32LE(at + 8);
      if (pending.length - at < RECORD_HEADER + caplen) break;
      const frame = pending.subarray(at + RECORD_HEADER, at + RECORD_HEADER + caplen);
      at += RECORD_HEADER + caplen;
      const p = udpPayloadOffset(frame);
      if (p < 0 || frame.length < p + OFFSET.txNs + 8 || frame.readUInt32LE(p + OFFSET.magic) !== PAYLOAD_MAGIC) continue;
      if (frame.readUInt32LE(p + OFFSET.runId) !== runId >>> 0) continue;
      const stream = frame.readUInt32LE(p + OFFSET.stream);
      const seq = Number(frame.readBigUInt64LE(p + OFFSET.seq));
      const txNs = Number(frame.readBigUInt64LE(p + OFFSET.txNs));
      const seen = streams.get(stream) ?? { packets: 0, lastSeq: -1, lastTxNs: 0 };
      seen.packets++;
      if (txNs >= seen.lastTxNs) Object.assign(seen, { lastSeq: seq, lastTxNs: txNs });
      streams.set(stream, seen);
    }
    pending = pending.subarray(at);
  };
}

/** Starts tcpdump on ifname in ns (incoming UDP multicast only) and resolves once it listens. */
/** The default filter: incoming UDP multicast of either family. */
export const TAP_FILTER = 'udp and (ip multicast or ip6 multicast)';

export async function startInputTap(ns: string, ifname: string, runId: number, filter = TAP_FILTER): Promise<RunningTap> {
  const args = ['-i', ifname, '-n', '-p', '-U', '--immediate-mode', '-B', String(TAP_BUFFER_KIB), '-Q', 'in', '-s', String(SNAPLEN), '--time-stamp-precision', 'nano', '-w', '-', filter];
  const child = nsSpawn(ns, 'tcpdump', args, { reject: false, buffer: false, stdout: 'pipe', stderr: 'pipe' });
  const streams = new Map<number, TappedStream>();
  child.stdout?.on('data', pcapReader(runId, streams));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump on ${ifname} did not start within 10 s: ${stderr.trim()}`)), 10_000);
    child.stderr?.on('data', () => {
      if (stderr.includes('listening on')) clearTimeout(timer), resolve();
    });
    void child.then((r) => (clearTimeout(timer), reject(new Error(`tcpdump exited at start (exit ${r.exitCode ?? r.signal}): ${stderr.trim()}`))));
  });
  const total = () => [...streams.values()].reduce((n, s) => n + s.packets, 0);
  return {
    async drained() {
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      for (let seen = -1; total() !== seen && Date.now() < deadline; ) {
        seen = total();
        await sleep(QUIET_MS);
      }
    },
    async stop() {
      child.kill('SIGINT');
      await child;
      const dropped = /(\d+) packets? dropped by kernel/.exec(stderr);
      return { streams, droppedByKernel: dropped ? Number(dropped[1]) : 0, command: `ip netns exec ${ns} tcpdump ${args.join(' ')}` };
    },
  };
}
