// Charts of the limit searches: the group capacity per contender (capacity) and, for replication,
// the NDR in delivered copies/s and the CPU per delivered copy against K, per contender and mode.
import type * as vl from 'vega-lite';
import type { RunResult } from '../result.js';
import { summarizeLimits } from '../limit-search.js';

type Spec = vl.TopLevelSpec;
const WIDTH = 520;
const HEIGHT = 260;

/** Replication subjects are '<mode> ×<K>': the series is contender/mode, x is K. */
function perCopyPoints(result: RunResult) {
  return summarizeLimits(result.limits).flatMap((s) => {
    const m = /^(\S+) ×(\d+)$/.exec(s.subject);
    return m ? [{ series: `${s.series}/${m[1]}`, k: Number(m[2]), copiesPps: s.found * Number(m[2]), cpu: s.cpuUsPerPacketAtFound, bound: s.atUpper ? '≥ (bound)' : 'measured' }] : [];
  });
}

function kChart(title: string, yTitle: string, values: { series: string; k: number; y: number | null; bound?: string }[], logY = false): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: values.filter((v) => v.y !== null) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'k', type: 'quantitative', title: 'copies (K)', scale: { type: 'log', base: 2 }, axis: { values: [1, 2, 4, 8, 16] } },
      y: { field: 'y', type: 'quantitative', title: yTitle, axis: { format: '~s' }, ...(logY ? { scale: { type: 'log' } } : {}) },
      color: { field: 'series', type: 'nominal', title: null },
      ...(values.some((v) => v.bound) ? { shape: { field: 'bound', type: 'nominal', title: null } } : {}),
    },
  };
}

export function replicationNdrChart(result: RunResult): Spec {
  return kChart('Replication NDR: copies/s delivered with nothing lost, vs copies per input packet', 'delivered copies/s', perCopyPoints(result).map((p) => ({ series: p.series, k: p.k, y: p.copiesPps, bound: p.bound })), true);
}

export function replicationCpuChart(result: RunResult): Spec {
  return kChart('CPU µs per delivered copy at the NDR, vs copies per input packet', 'CPU µs / copy', perCopyPoints(result).map((p) => ({ series: p.series, k: p.k, y: p.cpu })));
}

/** Capacity: one bar per contender, the most groups forwarded with nothing lost. */
export function capacityChart(result: RunResult): Spec {
  const values = summarizeLimits(result.limits).filter((s) => s.over === 'groups').map((s) => ({ series: s.series, groups: s.found, label: `${s.atUpper ? '≥ ' : ''}${s.found.toLocaleString('en-US')}` }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Group capacity: most groups forwarded with nothing lost at the per-group rate',
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      { mark: 'bar', encoding: { x: { field: 'series', type: 'nominal', title: null }, y: { field: 'groups', type: 'quantitative', title: 'groups', axis: { format: '~s' } }, color: { field: 'series', type: 'nominal', title: null } } },
      { mark: { type: 'text', dy: -6 }, encoding: { x: { field: 'series', type: 'nominal' }, y: { field: 'groups', type: 'quantitative' }, text: { field: 'label' } } },
    ],
  };
}
