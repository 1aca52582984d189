// The test addon's JavaScript surface (relay/native/test_addon.cc, build/Release/mcr-test.node): the
// relay's pure pieces alone (frame parser, reassembly table, rule table, link messages, steering
// buckets, counter keys) and its microbenchmarks, for tests, fuzz seeds and `npm run bench`. mcrd
// and its workers never load it.
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot, type LinkEvent, type NativeRule, type ParseDropReason, type ReassemblyStats } from './native.js';

/** Result of parsing one Ethernet frame. */
export interface ParsedFrame {
  /** 'ok' or the reason it was dropped (PARSE_DROP_REASONS). */
  status: 'ok' | ParseDropReason;
  /** IP version of an accepted frame. */
  family?: 4 | 6;
  vlan?: number;
  /** Addresses as text: dotted IPv4, or IPv6 as inet_ntop writes it ('ff15::8'). */
  src?: string;
  dst?: string;
  srcPort?: number;
  dstPort?: number;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl?: number;
  /** The IPv4 TOS byte or the IPv6 traffic class: DSCP << 2 | ECN. */
  tos?: number;
  /** UDP payload offset and length inside the frame (of an IPv6 fragment: its data, a share of the fragmentable part). */
  payloadOffset?: number;
  payloadLength?: number;
  /** An IPv6 fragment (status 'fragment', family 6): its fragment header. */
  fragment?: { id: number; offset: number; more: boolean; nextHeader: number };
}

export interface RuleLookup {
  /** Rules in the table. */
  readonly size: number;
  /** The rule a datagram from source (absent: a source no source-specific rule names) to group:port matches, or null. */
  find(query: { group: string; port: number; source?: string }): {
    id: string;
    /** Per output: destination family and address, scope id (IPv6), and the family of its socket (0: interface absent). */
    outputs: { family: 4 | 6; group: string; port: number; scopeId?: number; socketFamily: 0 | 4 | 6 }[];
  } | null;
}

export interface Reassembly {
  add(frame: Buffer, nowMs: number): {
    result: 'pending' | 'complete' | 'duplicate' | 'overlap' | 'no_room' | 'invalid' | 'unwanted' | ParsedFrame['status'];
    datagram?: { status: 'ok' | 'bad_udp_length'; length: number; src: string; dst: string; ttl: number; tos: number; srcPort?: number; dstPort?: number; payload?: Buffer };
  };
  /** Drops the incomplete datagrams whose time is up at nowMs; returns how many. */
  expire(nowMs: number): number;
  readonly stats: ReassemblyStats & { open: number; held: number };
}

export interface TestAddon {
  parseFrame(frame: Buffer): ParsedFrame;
  /** The link events in one rtnetlink datagram (pure; for tests). */
  parseLinkMessages(datagram: Buffer): LinkEvent[];
  /** The counter keys Forwarder.stats() fills (relay/native/counters.h), for the test that holds WORKER_COUNTERS to them. */
  readonly workerCounterKeys: readonly string[];
  /** The steering bucket of a flow, as the kernel computes it in 'hash' mode (IPv6: addresses only). */
  steeringBucket(source: string, group: string, sourcePort: number, port: number): number;
  readonly steeringBuckets: number;
  /** The native rule table alone (tests): built like Forwarder.setRules (same errors), asked which rule a datagram matches. */
  RuleLookup: new (rules: NativeRule[]) => RuleLookup;
  /**
   * A forwarder's IPv6 reassembly table alone (tests): add() parses a frame and hands an IPv6
   * fragment to it at time nowMs; result is the parse status for any other frame ('ok' for an
   * unfragmented or atomic one). A complete datagram is checked like the forwarder checks it and
   * its slot released at once. wanted: the IPv6 groups (and sources) rules take, as a worker's
   * table gives them; a fragment no entry takes is 'unwanted' (counted, the table untouched).
   */
  Reassembly: new (options?: { slots?: number; timeoutMs?: number; wanted?: { group: string; source?: string }[] }) => Reassembly;
  /** npm run bench: parses frame `iterations` times; returns the payload bytes seen. */
  benchParse(frame: Buffer, iterations: number): number;
  /** npm run bench: a table of `rules` rules (output on lo); run() looks rules up, returns the hits. */
  LookupBench: new (rules: number) => { run(iterations: number): number };
  /** npm run bench: egress batches to `flows` sockets on 127.0.0.1 (1: GSO); run() returns the datagrams sent. */
  BatchBench: new (payloadBytes: number, flows: number) => { run(batches: number, perBatch: number): number };
}

/** The compiled test addon; MCR_TEST_ADDON names another build of it (`npm run test:sanitized`: its ASan/UBSan build). */
export const testAddonPath = process.env.MCR_TEST_ADDON ? path.resolve(process.env.MCR_TEST_ADDON) : path.join(projectRoot, 'build', 'Release', 'mcr-test.node');

let cached: TestAddon | undefined;
export function loadTestAddon(): TestAddon {
  if (!cached) {
    try {
      cached = createRequire(import.meta.url)(testAddonPath) as TestAddon;
    } catch (err) {
      throw new Error(`cannot load the test addon ${testAddonPath} (run 'npm install' or 'npm run build'): ${(err as Error).message}`);
    }
  }
  return cached;
}
