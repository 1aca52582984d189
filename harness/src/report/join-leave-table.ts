// The join-leave scenario's table for report.md: per step, contender and repetition, the join and
// leave delay distributions over groups and what bounds them.
import type { RunResult } from '../result.js';
import type { DelayDistribution } from '../join-leave-record.js';

const ms = (n: number | null) => (n === null ? '> window' : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));
const quartet = (d: DelayDistribution) => `${ms(d.minMs)} / ${ms(d.p50Ms)} / ${ms(d.p99Ms)} / ${ms(d.maxMs)}`;

export function joinLeaveTable(result: RunResult): { headers: string[]; rows: string[][] } {
  const rows = result.steps.flatMap((s) =>
    s.runs.filter((r) => r.status === 'ok' && r.joinLeave).map((r) => {
      const { join, leave } = r.joinLeave!;
      return [
        s.step,
        `${r.series}${r.repetition > 1 ? ` #${r.repetition}` : ''}`,
        String(join.distribution.groups),
        quartet(join.distribution),
        ms(join.acknowledgedMs),
        ms(join.resolutionMs),
        leave ? quartet(leave.distribution) : '-',
        leave ? `${leave.configuredDelayMs} + ${leave.bridge.lastMemberCount} × ${leave.bridge.lastMemberIntervalMs}` : '-',
        leave ? String(leave.tapDrops) : '-',
      ];
    }),
  );
  return { headers: ['step', 'contender', 'groups', 'join ms min / p50 / p99 / max', 'join ack ms', 'resolution ms', 'leave ms min / p50 / p99 / max', 'leave delay + bridge ms', 'tap drops'], rows };
}

/** The paragraph and table report.md shows for a run with join/leave delays (none otherwise). */
export function joinLeaveSection(result: RunResult, table: (headers: string[], rows: string[][]) => string): string[] {
  const t = joinLeaveTable(result);
  if (!t.rows.length) return [];
  return [
    "Group join delay (RFC 3918): the request (the relay: an acknowledged apply; socat and smcrouted: their start) to each group's first packet at the sink, with traffic already flowing upstream. Group leave delay: the removal (or stop) to the send time of each group's last packet on the contender's input link, where the snooping bridge stopped sending it. Resolution: one packet gap of a group; \"> window\": some group never arrived (never stopped) within the watch. Loss in the table above is by design here (nothing is forwarded before the join or after the leave).",
    '',
    table(t.headers, t.rows),
    '',
  ];
}
