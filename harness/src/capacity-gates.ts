// Gate on group capacity (RFC 3918), from result.json alone. The rule: the relay forwards every
// group the search offers it — its capacity, in every repetition, is the search's upper bound
// (N, or fewer where the instrument's ceiling over the per-group rate is lower). Why that and not
// less: the relay has no per-group cost beyond its join and a hash probe per packet, and it was
// measured delivering 10,000 groups at 10 packets/s each in full (docs/measured-figures.md), the
// most this scenario asks; a lower figure is a regression. socat's and the kernel's are reported.
import { checkAtLeast, type Check } from './checks.js';
import type { RunResult } from './result.js';

export function capacityChecks(result: RunResult): Check[] {
  const searches = (result.limits ?? []).filter((l) => l.over === 'groups');
  const series = [...new Set(searches.map((l) => l.series))];
  return series.map((s) => {
    const mine = searches.filter((l) => l.series === s);
    const worst = mine.reduce((w, l) => (l.found < w.found ? l : w));
    const why = worst.found < worst.upper && worst.limitedBy ? `; ${worst.limitedBy}` : '';
    const check = checkAtLeast({ name: `${worst.contender} group capacity`, scenario: result.scenario, step: 'capacity', contender: s, ...(mine.length > 1 ? { repetition: worst.repetition } : {}), metric: `groups forwarded with nothing lost at ${String(result.parameters.ratePps)} packets/s each (search bound ${worst.upper}: ${worst.upperRule}${why})`, value: worst.found }, worst.upper);
    return worst.contender === 'relay' ? check : { ...check, limit: 'none', pass: true, advisory: true };
  });
}
