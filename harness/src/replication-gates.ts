// Gate on replication (RFC 3918's forwarding matrix), from result.json alone: in every delivery
// step and repetition the relay delivers every copy of every packet, none twice, as its sinks
// counted them (never its own counters). socat's and the kernel's are reported beside it.
import { checkAtMost, type Check } from './checks.js';
import type { RunResult } from './result.js';

export function replicationChecks(result: RunResult): Check[] {
  return result.steps.flatMap((step) => {
    // Search trials lose by design above the NDR: the delivery steps at --rate are what is gated.
    const runs = step.runs.filter((r) => r.status === 'ok' && r.replication && r.aggregate && !r.control && !r.exemptFromLoss);
    const repeated = (series: string) => runs.filter((r) => r.series === series).length > 1;
    return runs.map((run) => {
      const a = run.aggregate!;
      const rep = run.replication!;
      const metric = `copies lost + duplicated, of ${a.expected.toLocaleString('en-US')} (${rep.copies} copies × ${(a.expected / rep.copies).toLocaleString('en-US')} packets; ${a.lost} lost, ${a.duplicates} duplicated; copies seen at their sinks ${rep.copiesSeen}/${rep.copies})`;
      const check = checkAtMost({ name: `${run.contender} replication delivers every copy, no duplicates`, scenario: result.scenario, step: step.step, contender: run.series, ...(repeated(run.series) ? { repetition: run.repetition } : {}), metric, value: a.lost + a.duplicates }, 0);
      return run.contender === 'relay' ? check : { ...check, limit: 'none', pass: true, advisory: true };
    });
  });
}
