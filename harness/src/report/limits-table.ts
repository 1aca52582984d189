// The searches for a limit (capacity: groups; replication: input rate) as a report table: per
// subject and contender the figure (medians over repetitions), "≥" where the search's upper
// bound set it, and what stopped the contender above it.
import type { RunResult } from '../result.js';
import { summarizeLimits } from '../limit-search.js';

const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

export function limitsTable(result: RunResult): { headers: string[]; rows: string[][] } {
  const summaries = summarizeLimits(result.limits);
  if (!summaries.length) return { headers: [], rows: [] };
  const perCopy = summaries.some((s) => s.copies);
  return {
    headers: ['search', 'contender', `most ${summaries[0].over} with nothing lost`, ...(perCopy ? ['copies/s delivered', 'CPU µs per copy there'] : ['CPU µs per packet there']), 'offered / asked there', 'upper bound', 'above it', 'repetitions', 'trials'],
    rows: summaries.map((s) => [
      s.subject || s.over,
      s.series,
      `${s.atUpper ? '≥ ' : ''}${fmt(s.found)}`,
      ...(perCopy ? [fmt(s.found * (s.copies ?? 1))] : []),
      fmt(s.cpuUsPerPacketAtFound, 2),
      s.offeredShareAtFound === null ? '-' : `≥ ${Math.round(s.offeredShareAtFound * 100)} %`,
      `${fmt(s.upper)} (${s.upperRule})`,
      s.atUpper ? '-' : (s.limitedBy ?? 'nothing passed'),
      String(s.repetitions),
      s.trials.join(', '),
    ]),
  };
}

/** The paragraph and table report.md shows for a run with limit searches (none otherwise). */
export function limitsSection(result: RunResult, table: (headers: string[], rows: string[][]) => string): string[] {
  const t = limitsTable(result);
  if (!t.rows.length) return [];
  return [
    'Limits (RFC 3918): per contender, the highest value searched (from the upper bound down, bisecting) at which its sinks counted nothing lost and nothing duplicated; "≥": nothing failed at the upper bound, which then set the figure. "above it": the first failing trial above the figure — what limits the contender (loss, or why it could not run). CPU per packet (per delivered copy in replication) is read in the trial at the figure; "offered / asked": the least share of the asked rate the generator achieved there (it shares the CPUs; under 100 % the trial ran lighter than asked).',
    '',
    table(t.headers, t.rows),
    '',
  ];
}
