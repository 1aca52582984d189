// The streams a scenario step sends: input group:port at the relay, output group:port at the sink.
import type { Family } from '../../netns/topology.js';

export type { Family };

export interface StreamPlan {
  stream: number;
  /** The group address alone (IPv6 without brackets), as a relay rule takes it. */
  inGroup: string;
  inPort: number;
  outGroup: string;
  outPort: number;
}

/** Every stream of one run is of one family. */
export const FAMILIES: readonly Family[] = [4, 6];

export const STREAM_PORT = 5000;
const MAX_STREAMS = 64000;

function groupFor(base: number, index: number): string {
  // 239.<base>.<hi>.<lo>, lo from 1 to 250 so no .0 or .255 addresses.
  const hi = Math.floor(index / 250);
  const lo = (index % 250) + 1;
  if (hi > 255) throw new Error(`too many streams (${index + 1}); at most ${MAX_STREAMS}`);
  return `239.${base}.${hi}.${lo}`;
}

function group6For(base: number, index: number): string {
  // ff15::<base>:<n> (transient, site-local scope), n in hex from 1: the same count as IPv4.
  if (index >= MAX_STREAMS) throw new Error(`too many streams (${index + 1}); at most ${MAX_STREAMS}`);
  return `ff15::${base}:${(index + 1).toString(16)}`;
}

/** n streams, all on one UDP port (the case that breaks port-bound receivers), distinct groups. */
export function planStreams(n: number, family: Family = 4): StreamPlan[] {
  const group = family === 6 ? group6For : groupFor;
  return Array.from({ length: n }, (_, i) => ({
    stream: i + 1,
    inGroup: group(1, i),
    inPort: STREAM_PORT,
    outGroup: group(2, i),
    outPort: STREAM_PORT,
  }));
}

/** The family of an address: 6 when it holds a colon. */
export function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}
