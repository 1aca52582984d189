// One scenario's trend page: a chart per gated metric across its runs, drawn to SVG at build time
// (vega-lite + vega in Node) so the page needs no script and nothing from the network.
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../report/charts.js';
import { escapeHtml, STYLE } from '../report/html.js';
import { shortCommit, startedText } from '../report/run-index.js';
import { CSP_META } from './csp.js';
import { groupByLoad, type Load } from './loads.js';
import { runsWithPoints, scenarioTrends, type TrendMetric, type TrendRun } from './trend-data.js';

function trendSpec(m: TrendMetric): TopLevelSpec {
  const subjects = [...new Set(m.points.map((p) => p.subject))];
  const large = m.points.some((p) => Math.abs(p.value) >= 10_000);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${m.metric} (${m.unit})`,
    // 60 px per run fits its two-line label; narrower charts would clip the legend.
    width: Math.max(420, 60 * runsWithPoints(m)),
    height: 240,
    data: {
      values: m.points.map((p) => ({ ...p, description: `${p.subject ? `${p.subject} ` : ''}${m.metric} = ${p.value} ${m.unit}; run ${p.run}, commit ${p.commit}, started ${p.startedAt}` })),
    },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'label', type: 'ordinal', sort: { field: 'order', op: 'min' }, title: 'run: commit, started (UTC), oldest first', axis: { labelExpr: "split(datum.label, '\\n')", labelAngle: 0, labelFontSize: 9 } },
      y: { field: 'value', type: 'quantitative', title: m.unit, scale: { zero: false }, axis: { format: large ? '~s' : '~g' } },
      color: { field: 'subject', type: 'nominal', title: 'step, contender', sort: subjects, scale: { scheme: subjects.length > 10 ? 'tableau20' : 'tableau10' }, legend: { orient: 'bottom', columns: 6 } },
      // Each point's aria-label (and, added below, its hover title) names its run and commit.
      description: { field: 'description' },
    },
  };
}

/** vega writes a point as <path aria-label=... aria-roledescription="point" .../>; give it a hover title too. */
function titledPoints(svg: string): string {
  return svg.replace(/<path aria-label="([^"]*)"( role="graphics-symbol" aria-roledescription="point"[^>]*?)\/>/g, '<path aria-label="$1"$2><title>$1</title></path>');
}

export async function trendChart(m: TrendMetric): Promise<string> {
  const svg = titledPoints(await renderSvg(trendSpec(m)));
  return `<figure class="trend" data-metric="${escapeHtml(m.metric)}" data-unit="${escapeHtml(m.unit)}" data-runs="${escapeHtml(runsWithPoints(m))}" data-points="${escapeHtml(m.points.length)}">${svg}</figure>`;
}

export interface TrendPageLinks {
  index: string;
  report: (run: TrendRun) => string;
}

function runsTable(runs: TrendRun[], links: TrendPageLinks): string {
  const ordered = [...runs].sort((a, b) => a.result.startedAt.localeCompare(b.result.startedAt) || a.dir.localeCompare(b.dir));
  const rows = ordered.map((run) => `<tr><td><a href="${escapeHtml(links.report(run))}">${escapeHtml(run.dir)}</a></td><td>${escapeHtml(startedText(run.result))}</td><td><code>${escapeHtml(shortCommit(run.result))}</code></td><td class="${escapeHtml(run.result.verdict)}">${escapeHtml(String(run.result.verdict).toUpperCase())}</td><td>${escapeHtml(run.source)}</td><td><code>${escapeHtml(run.result.command)}</code></td></tr>`);
  return `<table class="runs">
<tr><th>run</th><th>started (UTC)</th><th>commit</th><th>verdict</th><th>figures from</th><th>command</th></tr>
${rows.join('\n')}
</table>`;
}

async function loadSection(scenario: string, load: Load, n: number, links: TrendPageLinks): Promise<string> {
  const metrics = scenarioTrends(scenario, load.runs);
  const charts = await Promise.all(metrics.map((m) => trendChart(m)));
  const count = `${load.runs.length} run${load.runs.length === 1 ? '' : 's'}`;
  const differs = load.differences.length ? ` Differs from load 1 in ${escapeHtml(load.differences.join('; '))}.` : '';
  // Loads of one run are folded away (still there, one point per chart) unless they are all there is.
  const open = load.runs.length > 1 || n === 1 ? ' open' : '';
  return `<details class="load" id="load-${n}" data-runs="${load.runs.length}"${open}>
<summary><h2>Load ${n}: ${count}</h2></summary>
<p>Latest command: <code>${escapeHtml(load.runs[load.runs.length - 1].result.command)}</code>.${differs}</p>
${charts.join('\n') || '<p>No gated figures in these runs (every contender skipped or failed).</p>'}
${runsTable(load.runs, links)}
</details>`;
}

export async function trendPageHtml(scenario: string, runs: TrendRun[], links: TrendPageLinks): Promise<string> {
  const ordered = [...runs].sort((a, b) => a.result.startedAt.localeCompare(b.result.startedAt) || a.dir.localeCompare(b.dir));
  const loads = groupByLoad(ordered);
  const sections = await Promise.all(loads.map((load, i) => loadSection(scenario, load, i + 1, links)));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">${CSP_META}<title>MCR trends: ${escapeHtml(scenario)}</title>
<style>${STYLE}
.trend{overflow-x:auto;max-width:100%}table.runs td:last-child{text-align:left}summary h2{display:inline}details.load{margin:1.5em 0}</style></head><body>
<p><a href="${escapeHtml(links.index)}">← all runs</a></p>
<h1>Trends: ${escapeHtml(scenario)}</h1>
<p>The gated figures of ${runs.length} run${runs.length === 1 ? '' : 's'} (medians over repetitions, as in benchmark.json), one chart per metric and one line per step and contender; one point per run, oldest first, labelled with its commit (<code>+</code>: built from a modified tree) and start time. Hover a point for its run. Runs are joined only under the same load (${loads.length === 1 ? 'all of these were' : `${loads.length} loads here`}): rate, count, streams, size... equal, by the rule of the regression gate; the relay's settings, repetitions and contenders may differ.</p>
${sections.join('\n')}
</body></html>
`;
}
