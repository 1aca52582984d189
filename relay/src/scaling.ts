// Adding and removing a fanout group's members while traffic flows, in 'hash' mode, with nothing
// lost and no flow reordered. The kernel steers each packet by the group's table (steering.ts);
// what can go wrong is a flow whose bucket changes owner: its older packets wait in the old
// owner's ring while newer ones reach the new owner's. So the new owner does not read until the
// old owner has forwarded everything that waited when the table changed:
//  - admit (a member joined at the end; the table gives it nothing yet): hold it, change the
//    table, let every old member forward what waited in its ring (barrier), release it;
//  - retire (the last member leaves): hold the others, change the table (its buckets go to
//    them), let it forward what waited (barrier: its ring then stays empty), release the others,
//    then it may close; a closing socket with nothing in its ring loses nothing.
// The kernel has stopped steering by the old table when steer() returns (synchronize_net), so
// "what waited" is everything the old table sent there. Without steering (other fanout modes) a
// member just joins or leaves, and the kernel re-deals flows as it likes.
import { singleOwner, withLastRemoved, withMemberAdded, bucketsPerMember, type Owners } from './steering.js';

export interface Member {
  readonly name: string;
  ask(type: 'hold' | 'release' | 'barrier'): Promise<void>;
  steer(owners: Owners): Promise<void>;
}

export interface FanoutMembers<M extends Member> {
  /** The sockets in the kernel's group, in its order: a join appends, a leave moves the last into the gap. */
  members: M[];
  owners: Owners;
  /** 'hash' mode: the table steers. */
  steered: boolean;
}

export interface ScalingEvent {
  member: string;
  /** Buckets that changed owner (of 256). */
  moved: number;
  /** How long the readers of moved flows waited (ms): the new member on admit, the others on retire. */
  heldMs: number;
}

const moved = (a: Owners, b: Owners) => a.reduce((n, o, i) => n + (o === b[i] ? 0 : 1), 0);

/** `joining` has joined the kernel's group, at its end. */
export async function admit<M extends Member>(group: FanoutMembers<M>, joining: M): Promise<ScalingEvent> {
  const old = [...group.members];
  group.members.push(joining);
  if (!group.steered) return { member: joining.name, moved: 0, heldMs: 0 };
  if (old.length === 0) {
    group.owners = singleOwner();
    await joining.steer(group.owners);
    return { member: joining.name, moved: 0, heldMs: 0 };
  }
  const owners = withMemberAdded(group.owners, old.length);
  await joining.ask('hold');
  const held = performance.now();
  try {
    await joining.steer(owners);
    const before = group.owners;
    group.owners = owners;
    await Promise.all(old.map((m) => m.ask('barrier')));
    return { member: joining.name, moved: moved(before, owners), heldMs: performance.now() - held };
  } finally {
    await joining.ask('release');
  }
}

/** The last member forwards what waits for it and hands its flows over; then `close` ends it. */
export async function retire<M extends Member>(group: FanoutMembers<M>, close: (member: M) => Promise<void>): Promise<ScalingEvent> {
  const leaving = group.members.at(-1);
  if (!leaving || group.members.length < 2) throw new Error('a fanout group keeps at least one member');
  const others = group.members.slice(0, -1);
  let event: ScalingEvent = { member: leaving.name, moved: 0, heldMs: 0 };
  if (group.steered) {
    const owners = withLastRemoved(group.owners, group.members.length);
    await Promise.all(others.map((m) => m.ask('hold')));
    const held = performance.now();
    try {
      await leaving.steer(owners);
      event = { member: leaving.name, moved: moved(group.owners, owners), heldMs: 0 };
      group.owners = owners;
      await leaving.ask('barrier');
    } finally {
      await Promise.all(others.map((m) => m.ask('release')));
      event.heldMs = performance.now() - held;
    }
  }
  group.members.pop();
  await close(leaving);
  return event;
}

/** Buckets of each member, by name (steered groups). */
export function bucketsByMember<M extends Member>(group: FanoutMembers<M>): Map<M, number> {
  const counts = bucketsPerMember(group.owners, group.members.length);
  return new Map(group.members.map((m, i) => [m, counts[i]]));
}
