// Searches for the largest value a contender carries with nothing lost or duplicated at the sinks:
// a group count (capacity, RFC 3918 group capacity) or an input rate (replication's NDR). What
// result.json keeps of each, and the medians over repetitions that reports, benchmark entries
// and gates quote.
import { median } from './stats.js';

export interface LimitTrial {
  value: number;
  pass: boolean;
  /** null: the contender did not run at this value (reason says why). */
  lossPct: number | null;
  duplicates: number;
  /** The step the trial's run is recorded under. */
  step: string;
  reason?: string;
  /** The run's delivered rate (copies/s in replication) and CPU µs per delivered packet (per copy), when it ran. */
  deliveredPps?: number;
  cpuUsPerPacket?: number | null;
  /** What the generator achieved over what the trial asked (it shares the CPUs: below 1 the load was lighter than asked). */
  offeredShare?: number;
}

export interface LimitSearch {
  /** What was searched: 'groups' (capacity) or 'input packets/s' (replication). */
  over: string;
  /** The step family the search belongs to, e.g. 'groups ×4'; '' when the run has one. */
  subject: string;
  contender: string;
  series: string;
  repetition: number;
  /** The highest value that passed (0: none did). */
  found: number;
  /** Where the search began, and the rule that set it there. */
  upper: number;
  upperRule: string;
  /** Nothing failed at the upper bound: the bound set the figure, not the contender ("≥"). */
  atUpper: boolean;
  /** What the first failing trial above the figure showed: the contender's limit. */
  limitedBy?: string;
  /** Copies per input packet (replication), so a rate can be read per delivered copy. */
  copies?: number;
  trials: LimitTrial[];
}

/** A search's figures over its repetitions: the fields below are medians or their worst case. */
export interface LimitSummary extends Pick<LimitSearch, 'over' | 'subject' | 'series' | 'upper' | 'upperRule' | 'limitedBy' | 'copies'> {
  /** Median over repetitions of the found values. */
  found: number;
  /** Some repetition stopped at the bound. */
  atUpper: boolean;
  /** Median over repetitions of the CPU µs per delivered packet (per copy) in the trial at the figure (null: not attributable). */
  cpuUsPerPacketAtFound: number | null;
  /** The lowest share of the asked rate the generator achieved in a trial at the figure (null: none recorded). */
  offeredShareAtFound: number | null;
  repetitions: number;
  trials: number[];
}

/** A figure of each repetition's passing trial at its found value, where the trial recorded it. */
function atFound(mine: LimitSearch[], key: 'cpuUsPerPacket' | 'offeredShare'): number[] {
  return mine.map((l) => l.trials.find((t) => t.pass && t.value === l.found)?.[key]).filter((v): v is number => typeof v === 'number');
}

const orNull = (values: number[], pick: (v: number[]) => number) => (values.length ? pick(values) : null);

export function summarizeLimits(limits: LimitSearch[] = []): LimitSummary[] {
  const groups = new Map<string, LimitSearch[]>();
  for (const l of limits) groups.set(`${l.over}|${l.subject}|${l.series}`, [...(groups.get(`${l.over}|${l.subject}|${l.series}`) ?? []), l]);
  return [...groups.values()].map((mine) => ({
    over: mine[0].over,
    subject: mine[0].subject,
    series: mine[0].series,
    found: median(mine.map((l) => l.found)),
    upper: mine[0].upper,
    upperRule: mine[0].upperRule,
    atUpper: mine.some((l) => l.atUpper),
    ...(mine.find((l) => l.limitedBy) ? { limitedBy: mine.find((l) => l.limitedBy)!.limitedBy } : {}),
    ...(mine[0].copies ? { copies: mine[0].copies } : {}),
    cpuUsPerPacketAtFound: orNull(atFound(mine, 'cpuUsPerPacket'), median),
    offeredShareAtFound: orNull(atFound(mine, 'offeredShare'), (v) => Math.min(...v)),
    repetitions: mine.length,
    trials: mine.map((l) => l.trials.length),
  }));
}
