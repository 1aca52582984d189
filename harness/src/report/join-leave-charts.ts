// Charts of group join and leave delay (join-leave scenario): the join delay's distribution over
// groups as a CDF per contender and group count, and the leave delay per step as bars (p50) with
// the range over groups, beside what the bridge and the configured delay allow.
import type * as vl from 'vega-lite';
import type { ContenderRun, RunResult } from '../result.js';

type Spec = vl.TopLevelSpec;
const WIDTH = 520;
const HEIGHT = 260;

function delayedRuns(result: RunResult): { step: string; run: ContenderRun }[] {
  return result.steps.flatMap((s) => s.runs.filter((r) => r.status === 'ok' && r.joinLeave).map((run) => ({ step: s.step, run })));
}

/** Per step and series, every repetition's groups pooled: the share of groups joined within each delay. */
export function joinDelayCdf(result: RunResult): Spec {
  const pooled = new Map<string, number[]>();
  for (const { step, run } of delayedRuns(result)) {
    const key = `${run.series} · ${step}`;
    const delays = run.joinLeave!.join.perGroupMs.filter((d): d is number => d !== null);
    pooled.set(key, [...(pooled.get(key) ?? []), ...delays]);
  }
  const values = [...pooled.entries()].flatMap(([series, delays]) => delays.sort((a, b) => a - b).map((ms, i) => ({ series, ms: Math.max(ms, 0.01), share: (i + 1) / delays.length })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Group join delay: request to first packet at the sink (CDF over groups)',
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'ms', type: 'quantitative', title: 'join delay ms (log)', scale: { type: 'log' }, axis: { format: '~g' } },
      y: { field: 'share', type: 'quantitative', title: 'share of groups', scale: { domain: [0, 1] } },
      color: { field: 'series', type: 'nominal', title: 'contender · step', legend: { labelLimit: 320 } },
    },
  };
}

/** Leave delay per step and series: p50 over groups as a bar, min to max as a rule, the allowed bound as a tick. */
export function leaveDelayBars(result: RunResult): Spec {
  const values = delayedRuns(result).flatMap(({ step, run }) => {
    const leave = run.joinLeave!.leave;
    if (!leave || leave.distribution.p50Ms === null) return [];
    const d = leave.distribution;
    return [{ where: `${step} · ${run.series}${run.repetition > 1 ? ` #${run.repetition}` : ''}`, p50: d.p50Ms, min: d.minMs, max: d.maxMs, bound: leave.configuredDelayMs + leave.bridge.lastMemberTimeMs }];
  });
  const y = { field: 'where', type: 'nominal' as const, title: 'step · contender', sort: null, axis: { labelLimit: 320 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Group leave delay: removal to last packet on the input link',
    // bar: p50 over groups; line: min–max; tick: configured leave delay + the bridge's last-member time
    width: WIDTH,
    height: Math.max(HEIGHT / 2, 24 * values.length),
    data: { values },
    layer: [
      { mark: 'bar', encoding: { y, x: { field: 'p50', type: 'quantitative', title: 'leave delay ms (bar p50, line min–max, tick: leave delay + bridge last-member time)' } } },
      { mark: 'rule', encoding: { y, x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
      { mark: { type: 'tick', color: 'black', thickness: 2 }, encoding: { y, x: { field: 'bound', type: 'quantitative' } } },
    ],
  };
}
