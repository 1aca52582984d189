// Throughput searches summarised per contender and payload size: the medians over repetitions
// that the report table, the benchmark entries and the NDR gate all quote.
import type { SearchResult } from './result.js';
import { median } from './stats.js';

export interface SearchSummary {
  series: string;
  size: number;
  streams: number;
  /** Medians over repetitions (a search without an NDR counts as 0). */
  ndrPps: number;
  pdrPps: number;
  pdrLossPct: number;
  ceilingPps: number;
  /** Some repetition's NDR was a lower bound set by the instrument ("≥"). */
  limitedByInstrument: boolean;
  repetitions: number;
  /** Trials each repetition's search took. */
  trials: number[];
}

export function summarizeSearches(searches: SearchResult[] = []): SearchSummary[] {
  const groups = new Map<string, SearchResult[]>();
  for (const s of searches) groups.set(`${s.size}|${s.series}`, [...(groups.get(`${s.size}|${s.series}`) ?? []), s]);
  return [...groups.values()].map((mine) => ({
    series: mine[0].series,
    size: mine[0].size,
    streams: mine[0].streams,
    ndrPps: median(mine.map((s) => s.ndrPps ?? 0)),
    pdrPps: median(mine.map((s) => s.pdrPps ?? 0)),
    pdrLossPct: mine[0].pdrLossPct,
    ceilingPps: mine[0].ceilingPps,
    limitedByInstrument: mine.some((s) => s.ndrLimitedByInstrument),
    repetitions: mine.length,
    trials: mine.map((s) => s.trials.length),
  }));
}
