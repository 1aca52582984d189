// report.md: tables a person can paste into an issue or a README.
import { describeCheck, gatedTally } from '../checks.js';
import type { RunResult } from '../result.js';
import { renderTable } from '../../../relay/src/api.js';
import { medianRows, toRows } from './rows.js';
import { summarizeSearches } from '../searches.js';
import { joinLeaveSection } from './join-leave-table.js';
import { limitsSection } from './limits-table.js';

const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** Markdown table from a header row and body rows. */
export function mdTable(headers: string[], rows: (string | number)[][]): string {
  const esc = (c: string | number) => String(c).replace(/\|/g, '\\|');
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** The per-step summary rows shared by the Markdown report, the HTML report and the terminal table. */
export function summaryTable(result: RunResult): { headers: string[]; rows: string[][] } {
  const rows = medianRows(toRows(result)).sort((a, b) => a.x - b.x || a.series.localeCompare(b.series));
  const headers = ['step', 'contender', 'sent', 'delivered', 'loss %', 'dup', 'reord', 'corrupt', 'misdeliv', 'outage ms', 'delivered pps', 'p50 µs', 'p99 µs', 'CPU s', 'CPU µs/pkt', 'TTL / TOS out', 'IGMP joined'];
  const body = rows.map((r) => [
    r.step, r.series, fmt(r.sent), fmt(r.delivered), r.sent > 0 ? fmt(r.lossPct, 3) : '-', fmt(r.duplicates), fmt(r.reordered), fmt(r.corrupted), fmt(r.misdelivered), fmt(r.outageMs, 1), fmt(r.deliveredPps),
    fmt(r.p50us, 1), fmt(r.p99us, 1), fmt(r.cpuSeconds, 2), fmt(r.cpuUsPerPacket, 2), `${r.ttlOut} / ${r.tosOut}`, r.igmp ? `${r.igmp.joined}/${r.igmp.groups}` : '-',
  ]);
  const skipped = result.steps.flatMap((s) => s.runs.filter((r) => r.status !== 'ok').map((r) => [s.step, r.series, r.status.toUpperCase(), r.reason ?? '', ...headers.slice(4).map(() => '')]));
  return { headers, rows: [...body, ...skipped] };
}

/** Each relay worker's share of the received packets, per step (empty when one worker only). */
export function workerShareTable(result: RunResult): { headers: string[]; rows: string[][] } {
  const rows = medianRows(toRows(result)).filter((r) => r.contender === 'relay' && r.workerShares.length > 1).sort((a, b) => a.x - b.x || a.series.localeCompare(b.series));
  const most = Math.max(0, ...rows.map((r) => r.workerShares.length));
  const headers = ['step', 'contender', ...Array.from({ length: most }, (_, i) => `worker ${i}`)];
  return { headers, rows: rows.map((r) => [r.step, r.series, ...Array.from({ length: most }, (_, i) => (r.workerShares[i] ? `${(r.workerShares[i].share * 100).toFixed(1)} %` : ''))]) };
}

/** Per contender and payload size: NDR and PDR from the throughput searches (medians over repetitions). */
export function throughputTable(result: RunResult): { headers: string[]; rows: string[][] } {
  const summaries = summarizeSearches(result.searches);
  if (summaries.length === 0) return { headers: [], rows: [] };
  return {
    headers: ['contender', 'payload B', 'NDR (packets/s)', `PDR ≤${summaries[0].pdrLossPct}% (packets/s)`, 'ceiling', 'repetitions', 'trials'],
    rows: summaries.map((s) => [s.series, String(s.size), `${s.limitedByInstrument ? '≥ ' : ''}${fmt(s.ndrPps)}`, fmt(s.pdrPps), fmt(s.ceilingPps), String(s.repetitions), s.trials.join(', ')]),
  };
}

/** Compact terminal table printed at the end of a run. */
export function terminalSummary(result: RunResult): string {
  const { headers, rows } = summaryTable(result);
  return renderTable(headers, rows);
}

export function renderMarkdown(result: RunResult, chartFiles: { id: string; title: string }[]): string {
  const env = result.environment;
  const { headers, rows } = summaryTable(result);
  const tally = gatedTally(result.checks);
  const commands = [...new Set(result.steps.flatMap((s) => s.runs.flatMap((r) => (r.report?.commands ?? []).map((c) => `${r.contender}: ${c}`))))];
  const lines = [
    `# MCR ${result.scenario} — run ${result.runId}`,
    '',
    `**Verdict: ${result.verdict.toUpperCase()}** (${tally.passed}/${tally.total} gated checks passed) · topology: ${result.topology} · IPv${result.parameters.family ?? 4} · command: \`${result.command}\``,
    '',
    `Started ${result.startedAt}, finished ${result.finishedAt}.`,
    '',
    '## Results (median over repetitions)',
    '',
    mdTable(headers, rows),
    '',
    'loss % = lost / expected, where expected = sequence numbers the generator used and lost = expected − unique packets received, counted at the sink; dup = extra copies; reord = packets that arrived after a higher sequence number (RFC 4737); misdeliv = packets that arrived on another stream\'s group; outage ms = the longest run of consecutive missing packets of any stream, as time at that stream\'s send rate (a tail never delivered counts to the end); delivered pps = delivered / the generator\'s measured send window (warm-up excluded: equals the offered rate when nothing is lost); latency is one-way, from the CLOCK_MONOTONIC send stamp in each packet to its receipt (p50: median of the streams; p99: worst stream). CPU s = CPU seconds of the contender\'s processes while forwarding (kernel: softirq, not attributable); CPU µs/pkt = that per delivered packet. TTL / TOS out = the IP TTL and TOS byte the delivered datagrams arrived with (the generator sends TTL 8 and TOS 0 unless --ttl/--tos). IGMP joined = input groups the snooping bridge saw joined behind the contender before traffic started.',
    '',
    result.topology === 'snooping'
      ? 'Topology **snooping**: the generator sends through a Linux bridge that snoops IGMP, is the querier, and does not flood unknown groups toward the contender, so a group arrives only while the contender has joined it.'
      : 'Topology **plain**: veth pairs deliver every frame to the contender whether or not it joined the group (IGMP is not tested).',
    '',
    ...(result.steps.some((s) => s.runs.some((r) => r.sinkJoined === 'inputs'))
      ? ['The kernel cannot rewrite group or port: for it the sink joins the input groups.', '']
      : []),
    ...(() => {
      const t = throughputTable(result);
      return t.rows.length
        ? ['NDR/PDR: the highest offered aggregate rate at which each contender lost nothing / at most the PDR tolerance, found by binary search from the calibrated ceiling down, quoted as the rate the generator achieved. "≥" marks an NDR the instrument set: nothing was lost at the ceiling, or the generator (sharing the CPUs) fell short of the rate asked.', '', mdTable(t.headers, t.rows), '']
        : [];
    })(),
    ...joinLeaveSection(result, mdTable),
    ...limitsSection(result, mdTable),
    ...(() => {
      const shares = workerShareTable(result);
      return shares.rows.length ? ["Each relay worker's share of the packets it received (relay counters; from the first repetition):", '', mdTable(shares.headers, shares.rows), ''] : [];
    })(),
    ...chartFiles.map((c) => `![${c.title}](${c.id}.svg)`),
    '',
    '## Checks',
    '',
    ...(result.checks.length ? result.checks.map((c) => `- ${describeCheck(c)}`) : ['(none)']),
    '',
    '## Instrument',
    '',
    result.calibration
      ? `Calibration ceiling (generator → sink straight over one veth pair, zero loss): ${fmt(result.calibration.ratePps)} packets/s at ${result.calibration.size}-byte payloads, ${result.calibration.streams} stream(s). Rates near this ceiling measure the instrument, not the contender.`
      : 'Calibration: not run for this result.',
    '',
    '## Parameters',
    '',
    mdTable(['parameter', 'value'], Object.entries(result.parameters).map(([k, v]) => [k, JSON.stringify(v)])),
    '',
    '## Environment',
    '',
    mdTable(
      ['what', 'value'],
      [
        ['kernel', env.kernel],
        ['CPU', `${env.cpuModel} × ${env.cpuCount}`],
        ['memory', `${env.memoryGiB} GiB`],
        ['node', env.node],
        ['mcr', `${env.mcr} (commit ${env.git.commit ?? 'unknown'}${env.git.dirty ? ', modified' : ''})`],
        ...Object.entries(env.tools).map(([k, v]) => [k, v ?? 'not installed']),
        ...Object.entries(env.sysctls).map(([k, v]) => [k, v ?? '-']),
      ],
    ),
    '',
    '## Baseline commands',
    '',
    ...(commands.length ? ['```', ...commands, '```'] : ['(none)']),
    '',
  ];
  return lines.join('\n');
}
