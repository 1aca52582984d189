// The streams a scenario step sends: input group:port at the relay, output group:port at the sink.

export interface StreamPlan {
  stream: number;
  inGroup: string;
  inPort: number;
  outGroup: string;
  outPort: number;
}

export const STREAM_PORT = 5000;

function groupFor(base: number, index: number): string {
  // 239.<base>.<hi>.<lo>, lo from 1 to 250 so no .0 or .255 addresses.
  const hi = Math.floor(index / 250);
  const lo = (index % 250) + 1;
  if (hi > 255) throw new Error(`too many streams (${index + 1}); at most 64000`);
  return `239.${base}.${hi}.${lo}`;
}

/** n streams, all on one UDP port (the case that breaks port-bound receivers), distinct groups. */
export function planStreams(n: number): StreamPlan[] {
  return Array.from({ length: n }, (_, i) => ({
    stream: i + 1,
    inGroup: groupFor(1, i),
    inPort: STREAM_PORT,
    outGroup: groupFor(2, i),
    outPort: STREAM_PORT,
  }));
}
