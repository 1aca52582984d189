// Charts as SVG, drawn by vega-lite + vega in Node (no browser, nothing fetched).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { RunResult } from '../result.js';
import { joinDelayCdf, leaveDelayBars } from './join-leave-charts.js';
import { capacityChart, replicationCpuChart, replicationNdrChart } from './limits-charts.js';
import { medianRows, toRows, type Row } from './rows.js';

export interface Chart {
  /** File name stem, e.g. "loss". */
  id: string;
  title: string;
  svg: string;
}

type Spec = vl.TopLevelSpec;

const WIDTH = 520;
const HEIGHT = 260;

function lineChart(rows: Row[], field: keyof Row, title: string, yTitle: string, xTitle: string, log = false): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows.map((r) => ({ x: r.x, y: r[field], series: r.series })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle, scale: log ? { type: 'log' } : { zero: false }, axis: { format: '~s', tickMinStep: 1 } },
      y: { field: 'y', type: 'quantitative', title: yTitle, axis: { format: '~g' } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

function attributionChart(rows: Row[]): Spec {
  const values = rows.flatMap((r) =>
    Object.entries(r.attribution).map(([stage, packets]) => ({ where: `${r.step} · ${r.series}`, stage, packets })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Loss attribution (packets lost, by stage)',
    width: WIDTH,
    height: Math.max(HEIGHT, 18 * rows.length),
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'where', type: 'nominal', title: 'step · contender', sort: null },
      x: { field: 'packets', type: 'quantitative', stack: 'zero', title: 'packets lost', axis: { format: '~g' } },
      color: { field: 'stage', type: 'nominal', title: 'stage' },
    },
  };
}

function latencyChart(rows: Row[], xTitle: string, log: boolean): Spec {
  const values = rows.flatMap((r) => [
    { x: r.x, series: r.series, percentile: 'p50', us: r.p50us },
    { x: r.x, series: r.series, percentile: 'p99', us: r.p99us },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'One-way latency (µs): median of streams p50, worst stream p99',
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle, scale: log ? { type: 'log' } : { zero: false }, axis: { format: 'd', tickMinStep: 1 } },
      y: { field: 'us', type: 'quantitative', title: 'µs', scale: { type: 'symlog' } },
      color: { field: 'series', type: 'nominal', title: null },
      strokeDash: { field: 'percentile', type: 'nominal', title: null },
    },
  };
}

function workerShareChart(rows: Row[]): Spec {
  const values = rows
    .filter((r) => r.contender === 'relay')
    .flatMap((r) => r.workerShares.map((w) => ({ x: `${r.x}`, series: r.series, worker: `worker ${w.worker}`, share: w.share * 100 })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: "Each worker's share of the received packets (%), per fanout mode",
    data: { values },
    mark: 'bar',
    encoding: {
      column: { field: 'series', type: 'nominal', title: null },
      x: { field: 'x', type: 'ordinal', title: 'workers' },
      y: { field: 'share', type: 'quantitative', stack: 'zero', title: '% of received packets' },
      color: { field: 'worker', type: 'nominal', title: null },
    },
  };
}

function outageChart(rows: Row[]): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Longest outage of any stream (ms), from the sink\'s sequence gaps',
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows.map((r) => ({ step: r.step, series: r.series, ms: r.outageMs })) },
    mark: 'bar',
    encoding: {
      x: { field: 'step', type: 'nominal', title: null, sort: null },
      xOffset: { field: 'series', type: 'nominal' },
      y: { field: 'ms', type: 'quantitative', title: 'ms', axis: { format: '~g' } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/** Soak and elastic: the offered rate, the relay's workers, RSS, open descriptors, CPU, its own forwarding rate and the sink's cumulative loss over time. */
function timelineChart(result: RunResult): Spec {
  const values = result.steps.flatMap((step) =>
    step.runs.flatMap((run) => {
      const samples = run.timeline ?? [];
      return samples.flatMap((s, i) => {
        const prev = samples[i - 1];
        const cpuPct = prev && s.cpuSeconds !== undefined && prev.cpuSeconds !== undefined && s.t > prev.t ? ((s.cpuSeconds - prev.cpuSeconds) / (s.t - prev.t)) * 100 : undefined;
        // The relay's own count (its /metrics), as a rate between the samples that have one.
        const last = samples.slice(0, i).filter((p) => p.counters?.forwarded !== undefined).at(-1);
        const forwardedPps = last && s.counters?.forwarded !== undefined && s.t > last.t ? (s.counters.forwarded - last.counters!.forwarded) / (s.t - last.t) : undefined;
        // Packets the sink knows were sent (up to the highest sequence number seen), as a rate: the offered load.
        const offeredPps = prev?.expected !== undefined && s.expected !== undefined && s.t > prev.t ? (s.expected - prev.expected) / (s.t - prev.t) : undefined;
        const points = [
          offeredPps !== undefined ? { panel: 'offered/s (seen at the sink)', v: offeredPps } : undefined,
          s.counters?.workers ? { panel: 'relay workers', v: s.counters.workers } : undefined,
          s.rssBytes !== undefined ? { panel: 'RSS (MiB)', v: s.rssBytes / 2 ** 20 } : undefined,
          s.fds !== undefined ? { panel: 'open file descriptors', v: s.fds } : undefined,
          cpuPct !== undefined ? { panel: 'CPU (% of one core)', v: cpuPct } : undefined,
          forwardedPps !== undefined ? { panel: 'forwarded/s (relay /metrics)', v: forwardedPps } : undefined,
          s.expected ? { panel: 'loss so far (%)', v: ((s.expected - (s.unique ?? 0)) / s.expected) * 100 } : undefined,
        ];
        return points.filter((p) => p !== undefined).map((p) => ({ ...p, t: s.t, series: run.series }));
      });
    }),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Over the run: offered rate, relay workers, memory, descriptors, CPU, its own forwarding rate; loss counted at the sink',
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: ['offered/s (seen at the sink)', 'relay workers', 'RSS (MiB)', 'open file descriptors', 'CPU (% of one core)', 'forwarded/s (relay /metrics)', 'loss so far (%)'] } },
    spec: {
      width: WIDTH,
      height: 110,
      mark: { type: 'line', point: false },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'seconds since traffic started' },
        y: { field: 'v', type: 'quantitative', title: null, scale: { zero: false }, axis: { format: '~s' } },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export async function renderSvg(spec: Spec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type ChartMaker = (rows: Row[], xTitle: string, log: boolean, result: RunResult) => Spec;

/** Every chart a scenario may declare in its presentation, by id. */
export const CHARTS: Record<string, ChartMaker> = {
  loss: (rows, x, log) => lineChart(rows, 'lossPct', `Loss (%) vs ${x}`, 'loss %', x, log),
  delivered: (rows, x, log) => lineChart(rows, 'deliveredPps', `Delivered rate (packets/s) vs ${x}`, 'delivered packets/s', x, log),
  latency: (rows, x, log) => latencyChart(rows, x, log),
  'cpu-per-packet': (rows, x, log) => lineChart(rows.filter((r) => r.cpuUsPerPacket !== null), 'cpuUsPerPacket', `CPU µs per delivered packet vs ${x}`, 'CPU µs / packet', x, log),
  duplication: (rows, x, log) => lineChart(rows, 'duplicationRatio', 'Duplication ratio (extra copies per packet sent)', 'extra copies / packet', x, log),
  'worker-share': (rows) => workerShareChart(rows),
  attribution: (rows) => attributionChart(rows),
  outage: (rows) => outageChart(rows),
  timeline: (_rows, _x, _log, result) => timelineChart(result),
  'join-delay-cdf': (_rows, _x, _log, result) => joinDelayCdf(result),
  'leave-delay': (_rows, _x, _log, result) => leaveDelayBars(result),
  'replication-ndr': (_rows, _x, _log, result) => replicationNdrChart(result),
  'replication-cpu': (_rows, _x, _log, result) => replicationCpuChart(result),
  capacity: (_rows, _x, _log, result) => capacityChart(result),
};

/** The charts the run's scenario declared, drawn from the medians over repetitions. */
export async function buildCharts(result: RunResult): Promise<Chart[]> {
  const rows = medianRows(toRows(result)).sort((a, b) => a.x - b.x);
  if (rows.length === 0) return [];
  const { xTitle, xLog, charts } = result.presentation;
  const log = xLog && rows.some((r) => r.x >= 50);
  const specs = charts.filter((id) => CHARTS[id]).map((id) => ({ id, spec: CHARTS[id](rows, xTitle, log, result) }));
  return Promise.all(specs.map(async ({ id, spec }) => ({ id, title: String(spec.title ?? id), svg: await renderSvg(spec) })));
}
