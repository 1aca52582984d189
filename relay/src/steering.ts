// The fanout group's steering table ('hash' mode): which member takes each of the buckets flows
// hash into (relay/native/steering.h). Members are numbered as the kernel keeps them: a joining
// socket is appended, and a leaving one's place is taken by the last. Each change moves as few
// buckets as it can: a new member takes its share one bucket at a time from whoever has most; a
// leaving member's buckets go one at a time to whoever has fewest. Flows in buckets that keep
// their owner never move.

/** Buckets in the table; the native side checks the same number (steeringBuckets). */
export const STEERING_BUCKETS = 256;
/** A member index is one byte in the program. */
export const MAX_MEMBERS = 256;

export type Owners = readonly number[];

/** One member: it takes every bucket (the kernel also sends everything to member 0 before a table is set). */
export const singleOwner = (): Owners => new Array<number>(STEERING_BUCKETS).fill(0);

function loads(owners: Owners, members: number): number[] {
  const counts = new Array<number>(members).fill(0);
  for (const o of owners) counts[o]++;
  return counts;
}

/** The index of the largest (most: true) or smallest count; ties go to the lowest index. */
function extreme(counts: number[], most: boolean, skip = -1): number {
  let best = -1;
  for (let i = 0; i < counts.length; i++) {
    if (i === skip) continue;
    if (best < 0 || (most ? counts[i] > counts[best] : counts[i] < counts[best])) best = i;
  }
  return best;
}

/** The table once a member is appended to `members` members: it takes ⌊buckets / (members + 1)⌋. */
export function withMemberAdded(owners: Owners, members: number): Owners {
  if (members + 1 > MAX_MEMBERS) throw new Error(`a fanout group has at most ${MAX_MEMBERS} members`);
  const next = [...owners];
  const counts = [...loads(owners, members), 0];
  const share = Math.floor(STEERING_BUCKETS / (members + 1));
  while (counts[members] < share) {
    const donor = extreme(counts, true, members);
    const bucket = next.lastIndexOf(donor); // from the end of the donor's buckets: runs stay long, the program short
    next[bucket] = members;
    counts[donor]--;
    counts[members]++;
  }
  return next;
}

/** The table once the last of `members` members has left: its buckets go to those with fewest. */
export function withLastRemoved(owners: Owners, members: number): Owners {
  if (members < 2) throw new Error('the last member of a fanout group cannot hand its flows to anyone');
  const leaving = members - 1;
  const next = [...owners];
  const counts = loads(owners, members).slice(0, leaving);
  for (let bucket = 0; bucket < next.length; bucket++) {
    if (next[bucket] !== leaving) continue;
    const taker = extreme(counts, false);
    next[bucket] = taker;
    counts[taker]++;
  }
  return next;
}

/**
 * The table once member `index` of `members` has gone without notice (its process died): the
 * kernel moved the last member into its place, so the last one's buckets now name `index`, and
 * the dead member's go to those with fewest.
 */
export function withMemberGone(owners: Owners, members: number, index: number): Owners {
  const last = members - 1;
  if (members < 2) return singleOwner();
  const swapped = owners.map((o) => (o === index ? last : o === last ? index : o));
  return withLastRemoved(swapped, members);
}

/** Buckets per member, for `mcrctl workers`. */
export const bucketsPerMember = (owners: Owners, members: number): number[] => loads(owners, members);
