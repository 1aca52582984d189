// The helper-socket pool against a recording stand-in for the kernel calls (the real ones are
// exercised in the integration tests): which socket takes which membership, and when.
import { describe, expect, it } from 'vitest';
import { IgmpPool, membershipKey, type IgmpOps } from '../../relay/src/igmp-pool.js';
import { createLogger } from '../../relay/src/log.js';

function recorder(failJoins = 0) {
  const calls: string[] = [];
  let next = 100;
  let failures = failJoins;
  const ops: IgmpOps = {
    igmpOpenSocket: () => next++,
    igmpJoin: (fd, _if, g) => {
      if (failures-- > 0) throw new Error('No buffer space available');
      calls.push(`${fd} join ${g}`);
    },
    igmpLeave: (fd, _if, g) => void calls.push(`${fd} leave ${g}`),
    igmpJoinSource: (fd, _if, g, s) => void calls.push(`${fd} join ${g} from ${s}`),
    igmpLeaveSource: (fd, _if, g, s) => void calls.push(`${fd} leave ${g} from ${s}`),
    igmpClose: (fd) => void calls.push(`${fd} close`),
  };
  return { ops, calls };
}

const quiet = createLogger('text', 'error', () => true);
const want = (...keys: string[]) => new Map([['eth0', new Set(keys)]]);

describe('IGMP pool', () => {
  it('IPv6 groups go on IPv6 helper sockets (MLD), never beside IPv4 ones; v6 sources per group from mld_max_msf', () => {
    const { ops, calls } = recorder();
    const opened: (number | undefined)[] = [];
    const open = ops.igmpOpenSocket;
    ops.igmpOpenSocket = (family) => (opened.push(family), open(family));
    const pool = new IgmpPool(ops, quiet, { retries: 0, retryIntervalMs: 10, leaveDelayMs: 0 }, 20, { 4: 10, 6: 1 });
    pool.sync(want('239.1.1.1', 'ff15::1', '239.1.1.2', 'ff15::2', membershipKey('ff35::1', 'fd00::1'), membershipKey('ff35::1', 'fd00::2')));
    expect(opened).toEqual([4, 6, 6]);
    expect(calls).toEqual(['100 join 239.1.1.1', '101 join ff15::1', '100 join 239.1.1.2', '101 join ff15::2', '101 join ff35::1 from fd00::1', '102 join ff35::1 from fd00::2']);
  });

  it('any-source and source-specific memberships of one group never share a socket; sources per group are capped', () => {
    const { ops, calls } = recorder();
    const pool = new IgmpPool(ops, quiet, { retries: 0, retryIntervalMs: 10, leaveDelayMs: 0 }, 20, { 4: 2, 6: 64 });
    pool.sync(want('232.1.1.1', membershipKey('232.1.1.1', '10.0.0.1'), membershipKey('232.1.1.1', '10.0.0.2'), membershipKey('232.1.1.1', '10.0.0.3')));
    expect(calls).toEqual(['100 join 232.1.1.1', '101 join 232.1.1.1 from 10.0.0.1', '101 join 232.1.1.1 from 10.0.0.2', '102 join 232.1.1.1 from 10.0.0.3']);
    expect(pool.stats()).toMatchObject({ activeGroups: 4, sockets: 3 });
  });

  it('10,000 groups: 20 to a socket, each joined once; leaving half frees their sockets and keeps the count', () => {
    const { ops, calls } = recorder();
    const pool = new IgmpPool(ops, quiet, { retries: 0, retryIntervalMs: 10, leaveDelayMs: 0 }, 20, { 4: 10, 6: 64 });
    const groups = Array.from({ length: 10000 }, (_, i) => `239.${1 + Math.floor(i / 250)}.0.${(i % 250) + 1}`);
    pool.sync(want(...groups));
    expect(pool.stats()).toMatchObject({ attempted: 10000, succeeded: 10000, activeGroups: 10000, sockets: 500 });
    expect(new Set(calls).size).toBe(10000);
    pool.sync(want(...groups.slice(0, 5000)));
    expect(pool.stats()).toMatchObject({ activeGroups: 5000, sockets: 250, leaves: 5000 });
    expect(groups.slice(0, 5000).every((g) => pool.membership('eth0', g)?.state === 'joined')).toBe(true);
    expect(pool.membership('eth0', groups[9999])).toBeUndefined();
  });

  it('leave delay: removed and wanted again within it, nothing is sent; otherwise one leave, and the empty socket closes', async () => {
    const { ops, calls } = recorder();
    const pool = new IgmpPool(ops, quiet, { retries: 0, retryIntervalMs: 10, leaveDelayMs: 50 }, 20, { 4: 10, 6: 64 });
    pool.sync(want('239.1.1.1'));
    pool.sync(want());
    pool.sync(want('239.1.1.1'));
    await new Promise((r) => setTimeout(r, 80));
    expect(calls).toEqual(['100 join 239.1.1.1']);
    pool.sync(want());
    expect(pool.stats()).toMatchObject({ leaving: 1, leaves: 0 });
    await new Promise((r) => setTimeout(r, 80));
    expect(calls.slice(1)).toEqual(['100 leave 239.1.1.1', '100 close']);
    expect(pool.stats()).toMatchObject({ leaving: 0, leaves: 1, activeGroups: 0 });
  });

  it('a failed join is retried with backoff and shows as joining, then joined', async () => {
    const { ops } = recorder(2);
    const pool = new IgmpPool(ops, quiet, { retries: 3, retryIntervalMs: 10, leaveDelayMs: 0 }, 20, { 4: 10, 6: 64 });
    pool.sync(want('239.1.1.1'));
    expect(pool.membership('eth0', '239.1.1.1')).toMatchObject({ state: 'joining', attempts: 1, error: expect.stringMatching(/No buffer space/) });
    await new Promise((r) => setTimeout(r, 60)); // retries after 10 and 20 ms
    expect(pool.membership('eth0', '239.1.1.1')).toEqual({ state: 'joined' });
    expect(pool.stats()).toMatchObject({ attempted: 3, failed: 2, succeeded: 1 });
  });

  it('retries exhausted: failed, not silently absent', async () => {
    const { ops } = recorder(10);
    const pool = new IgmpPool(ops, quiet, { retries: 1, retryIntervalMs: 5, leaveDelayMs: 0 }, 20, { 4: 10, 6: 64 });
    pool.sync(want('239.1.1.1'));
    await new Promise((r) => setTimeout(r, 30));
    expect(pool.membership('eth0', '239.1.1.1')).toMatchObject({ state: 'failed', attempts: 2 });
    expect(pool.stats()).toMatchObject({ failedGroups: 1, joining: 0 });
  });
});
