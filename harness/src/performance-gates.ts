// Performance gates: the relay against socat measured in the same run, at limits that follow from
// the relay's design (harness/gates.json states each rule). CPU per packet and NDR are medians over
// repetitions, and so is p99, read as the typical window's tail (below). Zero-tolerance limits
// are gate.ts's.
import { framesPerWake, napUs } from '../../relay/src/api.js';
import { checkAtLeast, checkAtMost, type Check } from './checks.js';
import type { GateFile } from './gate-file.js';
import type { RunResult } from './result.js';
import type { Row } from './report/rows.js';
import { summarizeSearches } from './searches.js';
import { median } from './stats.js';

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Each worker's frames/s in a repetition: its share of the frames times the rate offered. */
const workerRates = (r: Row) => r.workerShares.map((w) => w.share * r.offeredPps);

/** Frames per wake-up by the wake-up rule, weighted by each worker's packets; median over repetitions. */
export function meanFramesPerWake(repetitions: Row[]): number {
  return median(repetitions.map((r) => r.workerShares.reduce((sum, w, i) => sum + w.share * framesPerWake(workerRates(r)[i]), 0) || 1));
}

/** The nap the wake-up rule gives the busiest worker, µs; median over repetitions. */
export function busiestWorkerNapUs(repetitions: Row[]): number {
  return median(repetitions.map((r) => napUs(Math.max(0, ...workerRates(r)))));
}

/**
 * CPU per packet and p99 against socat for one step. `relay` is the step's median row, `repetitions`
 * its rows one per repetition (the workers' shares differ between them).
 *
 * p99 is read as the typical window's tail (measure.ts windowedTail: the median over 100 ms windows
 * of send time of each window's p99), median over repetitions. A second's p99 at thousands of
 * packets/s is set by the longest scheduling stalls of that second: measured on this 2-core machine
 * beside other work, a contender's whole-run p99 at one step moved by more than 10x between
 * repetitions (relay 0.2-4.7 ms, socat 0.1-46 ms at 5000 packets/s), where a stall covers a window
 * or two of ten.
 */
export function ratioChecks(result: RunResult, relay: Row, repetitions: Row[], socat: Row | undefined, gates: GateFile, socatRepetitions: Row[] = []): Check[] {
  if (!socat || relay.exemptFromLoss) return [];
  const p = gates.performance;
  const base = (name: string, metric: string, value: number) => ({ name, scenario: result.scenario, step: relay.step, contender: relay.series, metric, value });
  const checks: Check[] = [];
  const enoughCpu = (x: Row) => x.cpuSeconds !== null && x.cpuSeconds >= p.minCpuSecondsForRatio && x.cpuUsPerPacket !== null;
  if (enoughCpu(relay) && enoughCpu(socat)) {
    const batch = round(meanFramesPerWake(repetitions));
    const check = checkAtMost(base('relay CPU per packet vs socat', `CPU µs/packet relay/socat (${batch} frames per wake-up)`, round(relay.cpuUsPerPacket! / socat.cpuUsPerPacket!)), p.relayMaxCpuPerPacketRatioToSocat);
    // Where the relay wakes about once per frame it pays socat's wake-up: reported, not gated.
    checks.push(batch >= p.minFramesPerWakeForCpuRatio ? check : { ...check, pass: true, advisory: true, limit: `${check.limit} from ${p.minFramesPerWakeForCpuRatio} frames per wake-up` });
  }
  const tailCheck = p99Check(relay, repetitions, socat, socatRepetitions, gates);
  if (tailCheck) checks.push({ ...base('relay p99 latency vs socat', tailCheck.metric, tailCheck.value), ...tailCheck.verdict });
  return checks;
}

/** The p99 check's figure and verdict for one step, or undefined when either side reported no windows. */
function p99Check(relay: Row, repetitions: Row[], socat: Row, socatRepetitions: Row[], gates: GateFile): { metric: string; value: number; verdict: Pick<Check, 'limit' | 'pass' | 'advisory'> } | undefined {
  const p = gates.performance;
  if (relay.windowP99us === null || socat.windowP99us === null || socat.windowP99us <= 0) return undefined;
  // Too few windows and a stall is half of them: reported, not gated.
  const fewest = Math.min(...[...repetitions, ...socatRepetitions].map((r) => r.latencyWindows));
  if (p.relayMaxP99RatioToSocat === null || fewest < p.minLatencyWindows) {
    const why = p.relayMaxP99RatioToSocat === null ? 'none' : `from ${p.minLatencyWindows} windows per repetition (here ${fewest})`;
    return { metric: 'typical window p99 relay/socat', value: round(relay.windowP99us / socat.windowP99us), verdict: { limit: why, pass: true, advisory: true } };
  }
  // The nap the design adds at this step's busiest worker, on top of socat's p99 times the limit.
  const nap = Math.round(busiestWorkerNapUs(repetitions));
  const limitUs = Math.round(p.relayMaxP99RatioToSocat * socat.windowP99us + nap);
  const value = round(relay.windowP99us);
  return {
    metric: `typical window p99, µs (socat's ${round(socat.windowP99us)} µs${nap ? `, nap ${nap} µs` : ''})`,
    value,
    verdict: { limit: `<= ${limitUs} (${p.relayMaxP99RatioToSocat} × socat${nap ? ' + nap' : ''})`, pass: value <= limitUs },
  };
}

/** Per payload size: relay NDR / socat NDR, medians over repetitions. */
export function ndrChecks(result: RunResult, gates: GateFile): Check[] {
  const summaries = summarizeSearches(result.searches);
  const limit = gates.performance.relayMinNdrRatioToSocat;
  return summaries
    .filter((relay) => relay.series === 'relay')
    .flatMap((relay) => {
      const socat = summaries.find((s) => s.series === 'socat' && s.size === relay.size);
      if (!socat || socat.ndrPps === 0) return [];
      const check = checkAtLeast({ name: 'relay NDR vs socat', scenario: result.scenario, step: `NDR ${relay.size}B`, contender: 'relay', metric: 'NDR relay/socat', value: round(relay.ndrPps / socat.ndrPps) }, limit);
      // The instrument cannot show the limit when its own ceiling is below it.
      if (check.pass || !relay.limitedByInstrument || relay.ceilingPps >= limit * socat.ndrPps) return [check];
      return [{ ...check, pass: true, advisory: true, metric: `${check.metric}: the instrument's ceiling ${relay.ceilingPps} packets/s is under ${limit} × socat's NDR, and the relay lost nothing there` }];
    });
}
