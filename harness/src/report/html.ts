// report.html: one self-contained file (inline SVG charts and CSS, no script, nothing fetched).
import { describeCheck, gatedTally } from '../checks.js';
import type { RunResult } from '../result.js';
import type { Chart } from './charts.js';
import { summaryTable, throughputTable, workerShareTable } from './markdown.js';
import { joinLeaveTable } from './join-leave-table.js';
import { limitsTable } from './limits-table.js';

/**
 * The one escape for every value that goes into a page, as text or a quoted attribute. It takes
 * any value: result.json is data from test machines, and a field typed number may hold a string.
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}


export const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,td:nth-child(2),th{text-align:left}.pass{color:#176b2c}.fail{color:#b00020;font-weight:bold}
figure{margin:1.5em 0}code,pre{background:#f6f6f6;padding:2px 4px;overflow-x:auto}.charts{display:flex;flex-wrap:wrap;gap:1em}`;

export function htmlTable(headers: string[], rows: (string | number)[][]): string {
  const head = `<tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

export function renderHtml(result: RunResult, charts: Chart[]): string {
  const { headers, rows } = summaryTable(result);
  const env = result.environment;
  const commands = [...new Set(result.steps.flatMap((s) => s.runs.flatMap((r) => (r.report?.commands ?? []).map((c) => `${r.contender}: ${c}`))))];
  const checks = result.checks.map((c) => `<li class="${c.advisory ? 'info' : c.pass ? 'pass' : 'fail'}">${escapeHtml(describeCheck(c))}</li>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCR ${escapeHtml(result.scenario)} ${escapeHtml(result.runId)}</title>
<style>${STYLE}</style></head><body>
<h1>MCR ${escapeHtml(result.scenario)} — ${escapeHtml(result.runId)}</h1>
<p class="${escapeHtml(result.verdict)}">Verdict: ${escapeHtml(String(result.verdict).toUpperCase())} (${gatedTally(result.checks).passed}/${gatedTally(result.checks).total} gated checks passed)</p>
<p>Command: <code>${escapeHtml(result.command)}</code><br>Topology: ${escapeHtml(result.topology)}${result.topology === 'snooping' ? ' (a snooping bridge delivers a group only while the contender has joined it)' : ' (veth: every frame arrives, joined or not)'}, IPv${escapeHtml(String(result.parameters.family ?? 4))}${result.parameters.family === 6 ? ' (MLD joins)' : ''}<br>Started ${escapeHtml(result.startedAt)}, finished ${escapeHtml(result.finishedAt)}.</p>
<h2>Results (median over repetitions)</h2>
${htmlTable(headers, rows)}
${(() => {
    const t = throughputTable(result);
    return t.rows.length ? `<h2>Throughput (NDR / PDR)</h2>\n${htmlTable(t.headers, t.rows)}` : '';
  })()}
${(() => {
    const t = joinLeaveTable(result);
    return t.rows.length ? `<h2>Group join and leave delay (RFC 3918)</h2>\n${htmlTable(t.headers, t.rows)}` : '';
  })()}
${(() => {
    const t = limitsTable(result);
    return t.rows.length ? `<h2>Limits (RFC 3918 group capacity, replication NDR)</h2>\n${htmlTable(t.headers, t.rows)}` : '';
  })()}
${(() => {
    const shares = workerShareTable(result);
    return shares.rows.length ? `<p>Each relay worker's share of the packets it received:</p>\n${htmlTable(shares.headers, shares.rows)}` : '';
  })()}
<div class="charts">
${charts.map((c) => `<figure id="chart-${escapeHtml(c.id)}">${c.svg}</figure>`).join('\n')}
</div>
<h2>Checks</h2><ul>${checks || '<li>none</li>'}</ul>
<h2>Instrument</h2>
<p>${result.calibration ? `Calibration ceiling (generator → sink over one veth pair, zero loss): ${escapeHtml(result.calibration.ratePps.toLocaleString('en-US'))} packets/s at ${escapeHtml(result.calibration.size)}-byte payloads.` : 'Calibration: not run for this result.'}</p>
<h2>Parameters</h2>
${htmlTable(['parameter', 'value'], Object.entries(result.parameters).map(([k, v]) => [k, JSON.stringify(v)]))}
<h2>Environment</h2>
${htmlTable(['what', 'value'], [
    ['kernel', env.kernel],
    ['CPU', `${env.cpuModel} × ${env.cpuCount}`],
    ['node', env.node],
    ['mcr', `${env.mcr} (commit ${env.git.commit ?? 'unknown'}${env.git.dirty ? ', modified' : ''})`],
    ...Object.entries(env.tools).map(([k, v]) => [k, v ?? 'not installed']),
    ...Object.entries(env.sysctls).map(([k, v]) => [k, v ?? '-']),
  ])}
<h2>Baseline commands</h2>
<pre>${escapeHtml(commands.join('\n')) || '(none)'}</pre>
</body></html>
`;
}
