// Join and leave delay arithmetic and gates, from records alone (no privileges).
import { describe, expect, it } from 'vitest';
import { describeCheck } from '../../harness/src/checks.js';
import { joinLeaveChecks } from '../../harness/src/join-leave-gates.js';
import { distribution, joinDelays, leaveDelays, type JoinLeaveRecord } from '../../harness/src/join-leave-record.js';
import type { ContenderRun, RunResult } from '../../harness/src/result.js';

const BRIDGE = { lastMemberCount: 2, lastMemberIntervalMs: 1000, queryResponseIntervalMs: 500, fastLeave: false, igmpVersion: 2, lastMemberTimeMs: 2000 };

function record(join: (number | null)[], leave: (number | null)[], leaveAckMs = 20, configuredDelayMs = 0): JoinLeaveRecord {
  return {
    join: { request: 'apply', requestNs: 1, acknowledgedMs: 10, windowMs: 2010, perGroupMs: join, distribution: distribution(join), arrivedBeforeRequest: 0, resolutionMs: 1 },
    leave: { request: 'apply', requestNs: 2, acknowledgedMs: leaveAckMs, windowMs: 3020, configuredDelayMs, bridge: BRIDGE, perGroupMs: leave, distribution: distribution(leave), neverSeen: 0, resolutionMs: 1, tapDrops: 0, tapCommand: 'tcpdump' },
  };
}

function result(step: string, runs: Partial<ContenderRun>[]): RunResult {
  return { scenario: 'join-leave', steps: [{ step, x: 1, params: {}, runs: runs.map((r) => ({ status: 'ok', repetition: 1, params: {}, sinkJoined: 'outputs', ...r })) }] } as unknown as RunResult;
}

describe('join and leave delay records', () => {
  it('quantiles are nearest-rank over groups, a missing delay counting beyond every measured one', () => {
    expect(distribution([30, 10, 20])).toEqual({ groups: 3, measured: 3, minMs: 10, p50Ms: 20, p99Ms: 30, maxMs: 30 });
    expect(distribution([10, null])).toEqual({ groups: 2, measured: 1, minMs: 10, p50Ms: 10, p99Ms: null, maxMs: null });
    expect(distribution(Array.from({ length: 100 }, (_, i) => i + 1))).toMatchObject({ p50Ms: 50, p99Ms: 99, maxMs: 100 });
  });

  it('join: first arrival minus the request; none, or later than the window, is no delay', () => {
    expect(joinDelays([0, 1_012_000_000, 1_000_000_000 + 3e9], 1e9, 2000)).toEqual([null, 12, null]);
  });

  it("leave: the last packet's send time minus the request; unseen, or seen up to the generator's last packet, is no delay", () => {
    const seen = [undefined, { lastSeq: 99, lastTxNs: 3_000_000_000 }, { lastSeq: 2000, lastTxNs: 9e9 }];
    expect(leaveDelays(seen, 1e9, [3000, 3000, 2001])).toEqual([null, 2000, null]);
  });
});

describe('join and leave delay gates', () => {
  it('gates the relay up to 100 groups: join p99 <= 1000 ms, leave max <= leave delay + bridge + the removal acknowledgement + 100', () => {
    const lines = joinLeaveChecks(result('100', [{ contender: 'relay', series: 'relay', joinLeave: record([40, 50], [2030, 2050], 20.5, 0) }])).map(describeCheck);
    expect(lines).toEqual([
      'PASS relay join delay: join-leave / step 100 / relay: join delay p99 ms at 2 groups = 50 (limit <= 1000)',
      'PASS relay leave delay: join-leave / step 100 / relay: leave delay max ms at 2 groups, --igmp-leave-delay 0 + bridge 2 × 1000 ms + removal acknowledged in 20.5 ms + 100 = 2050 (limit <= 2120.5)',
    ]);
  });

  it('fails a group that never arrived, with the window as a lower bound, and one that never stopped', () => {
    const lines = joinLeaveChecks(result('1', [{ contender: 'relay', series: 'relay', joinLeave: record([null], [null]) }])).map(describeCheck);
    expect(lines[0]).toBe('FAIL relay join delay: join-leave / step 1 / relay: join delay p99 ms at 1 groups (1 of 1 groups never arrived within 2010 ms) = 2010 (limit <= 1000)');
    expect(lines[1]).toMatch(/^FAIL relay leave delay: .*\(1 of 1 groups still arrived at the end of the 3020 ms window\) = 3020 \(limit <= 2120\)$/);
  });

  it('reports socat, and the relay beyond 100 groups, without gating them; skips planned controls', () => {
    const many = Array.from({ length: 101 }, () => 5000);
    const checks = joinLeaveChecks(result('101', [
      { contender: 'relay', series: 'relay', joinLeave: record(many, many) },
      { contender: 'socat', series: 'socat', joinLeave: record([5000], [9000]) },
      { contender: 'relay', series: 'relay/control', control: 'planned', joinLeave: record([null], [null]) },
    ]));
    expect(checks).toHaveLength(4);
    expect(checks.every((c) => c.advisory && c.pass)).toBe(true);
    expect(checks.map((c) => c.limit)).toEqual(['gated up to 100 groups', 'gated up to 100 groups', 'none', 'none']);
  });
});
