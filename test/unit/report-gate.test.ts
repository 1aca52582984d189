// Reports, gates and comparisons computed from result.json alone.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCheck, verdictOf } from '../../harness/src/checks.js';
import { compareRuns } from '../../harness/src/compare.js';
import { benchmarkEntries } from '../../harness/src/export/benchmark.js';
import { junitXml } from '../../harness/src/export/junit.js';
import { baselineFromResult, baselinePath, DEFAULT_GATE_FILE, evaluateGates, gateRun, loadGateFile } from '../../harness/src/gate.js';
import { buildCharts } from '../../harness/src/report/charts.js';
import { renderHtml } from '../../harness/src/report/html.js';
import { renderMarkdown } from '../../harness/src/report/markdown.js';
import { sampleResult } from './sample-result.js';

const gates = loadGateFile();
const failures = (checks: ReturnType<typeof evaluateGates>) => checks.filter((c) => !c.pass && !c.advisory);

describe('gates', () => {
  it('pass a clean run', () => {
    const checks = evaluateGates(sampleResult(), gates);
    expect(checks.length).toBeGreaterThan(0);
    expect(failures(checks)).toEqual([]);
    expect(verdictOf(checks)).toBe('pass');
  });

  it('name scenario, step, contender, metric, value and limit for each failure', () => {
    const failed = failures(evaluateGates(sampleResult({ lost: 10, duplicates: 3 }), gates));
    expect(failed.map((c) => c.name)).toEqual(expect.arrayContaining(['relay loss', 'relay duplication']));
    expect(failed.find((c) => c.name === 'relay loss')).toMatchObject({ scenario: 'multi-stream', step: '1', contender: 'relay', metric: 'loss %', value: 1, limit: '<= 0.1' });
    expect(junitXml(sampleResult({ lost: 10 }), failed)).toMatch(/<failure message="FAIL relay loss: multi-stream \/ step 1 \/ relay: loss % = 1 \(limit &lt;= 0.1\)"/);
  });

  it('hold every zero-tolerance limit in every repetition, naming the one that broke it', () => {
    const oneOfThree = (figures: NonNullable<Parameters<typeof sampleResult>[0]>) => failures(evaluateGates(sampleResult({}, { repetitions: 3, relayInRepetition: { repetition: 2, figures } }), gates));
    // The median of 0, 3, 0 duplicates is 0: a gate on the median would pass this run.
    const dup = oneOfThree({ duplicates: 3 });
    expect(dup.map((c) => `${c.name} ${c.step}`)).toEqual(['relay duplication 1', 'relay duplication 2', 'relay duplication 5']);
    expect(describeCheck(dup[0])).toBe('FAIL relay duplication: multi-stream / step 1 / relay / repetition 2: duplicates = 3 (limit <= 0)');
    const lost = oneOfThree({ lost: 1000 });
    expect(lost.filter((c) => c.name === 'relay loss').map((c) => [c.repetition, c.value])).toEqual([[2, 100], [2, 100], [2, 100]]);
    expect(oneOfThree({ misdelivered: 1 }).map((c) => c.name)).toContain('relay misdelivery');
    expect(oneOfThree({ reordered: 1 }).map((c) => c.name)).toContain('relay reordering (hash fanout)');
    expect(oneOfThree({ igmpJoined: 0 }).find((c) => c.name.includes('IGMP'))).toMatchObject({ repetition: 2, value: 0 });
    expect(failures(evaluateGates(sampleResult({}, { repetitions: 3 }), gates))).toEqual([]);
  });

  it('fail a run with no relay results, and one whose required contender was skipped', () => {
    const none = evaluateGates(sampleResult({}, { skipped: ['relay'] }), gates);
    expect(verdictOf(none)).toBe('fail');
    expect(failures(none).map((c) => c.name)).toEqual(expect.arrayContaining(['relay results', 'required contender skipped']));
    expect(verdictOf([])).toBe('fail'); // nothing evaluated is not a pass
    const noSocat = sampleResult({}, { skipped: ['socat'], required: ['relay', 'socat'] });
    expect(failures(evaluateGates(noSocat, gates)).map((c) => `${c.name} ${c.step}`)).toEqual(['required contender skipped 1', 'required contender skipped 2', 'required contender skipped 5']);
    // Skipped in each of three repetitions for one reason: one line per step, counting them.
    const thrice = sampleResult({}, { skipped: ['socat'], required: ['relay', 'socat'], repetitions: 3 });
    expect(failures(evaluateGates(thrice, gates)).map((c) => `${c.step}: ${c.value}`)).toEqual(['1: 3', '2: 3', '5: 3']);
    expect(verdictOf(evaluateGates(sampleResult({}, { skipped: ['socat'] }), gates))).toBe('pass'); // socat not required
  });

  it('fail nothing sent, misdelivery, and groups the snooping bridge never saw joined (naming IGMP)', () => {
    expect(failures(evaluateGates(sampleResult({ sent: 0 }), gates)).map((c) => c.name)).toContain('generator sent traffic');
    expect(failures(evaluateGates(sampleResult({ misdelivered: 1 }), gates)).map((c) => c.name)).toContain('relay misdelivery');
    const igmp = failures(evaluateGates(sampleResult({ igmpJoined: 0 }), gates)).find((c) => c.step === '2')!;
    expect(igmp.name).toMatch(/IGMP/);
    expect(igmp).toMatchObject({ value: 0, limit: '>= 2' });
  });

  it('gate CPU per packet against socat where the wake-up rule batches, and p99 against socat plus the nap the rule adds', () => {
    // 1000 packets/s per stream (sent 1000 in 1 s), workers sharing 60/40: no nap anywhere, one frame per wake-up.
    const cheap = evaluateGates(sampleResult({ cpuPerStream: 0.15 }), gates).filter((c) => c.name === 'relay CPU per packet vs socat');
    expect(cheap.map((c) => [c.step, c.pass, c.advisory ?? false])).toEqual([['1', true, true], ['2', true, true], ['5', true, true]]);
    expect(cheap[0].limit).toBe('<= 0.5 from 2 frames per wake-up');
    // 10,000 per stream: at step 5 the busier worker takes 30,000/s (a 125 µs nap, 4.75 frames per wake-up), the other 20,000 (none).
    const batched = evaluateGates(sampleResult({ cpuPerStream: 0.15, sent: 10_000 }), gates).filter((c) => c.name === 'relay CPU per packet vs socat');
    expect(batched.map((c) => [c.step, c.pass, c.advisory ?? false])).toEqual([['1', true, true], ['2', true, true], ['5', false, false]]);
    expect(batched[2].metric).toBe('CPU µs/packet relay/socat (3.25 frames per wake-up)');
    // p99 is the typical window's tail, median over repetitions: socat's is 60, 70 and 80 µs in the
    // sample (30, 35, 40 µs p50), so the limit is 1.5 × 70 = 105 µs where no worker naps.
    // The file reports p99 (null); the design's limit, set, is what these lines check.
    const p99Gated = { ...gates, performance: { ...gates.performance, relayMaxP99RatioToSocat: 1.5 } };
    const p99 = (figures: Parameters<typeof sampleResult>[0], repetitions = 3) => evaluateGates(sampleResult(figures, { repetitions, jitter: 5 }), p99Gated).filter((c) => c.name === 'relay p99 latency vs socat');
    expect(p99({ latencyUs: 52 }).map((c) => c.pass)).toEqual([true, true, true]);
    expect(describeCheck(p99({ latencyUs: 53 })[0])).toBe("FAIL relay p99 latency vs socat: multi-stream / step 1 / relay: typical window p99, µs (socat's 70 µs) = 106 (limit <= 105 (1.5 × socat))");
    // At 30,000/s the busiest worker naps 125 µs by design: the limit adds it.
    expect(p99({ latencyUs: 110, sent: 10_000 })[2]).toMatchObject({ pass: true, limit: '<= 230 (1.5 × socat + nap)' });
    // Fewer windows than the gate file's minimum, in any repetition of either side: reported, not gated.
    expect(p99({ latencyUs: 400, latencyWindows: 4 })[0]).toMatchObject({ pass: true, advisory: true, limit: 'from 5 windows per repetition (here 4)', value: 11.429 });
    // A sink that reported no windows: no check at all.
    const noWindows = sampleResult({ latencyUs: 400 }, { repetitions: 3 });
    for (const run of noWindows.steps.flatMap((st) => st.runs)) delete run.aggregate?.windowedTail;
    expect(evaluateGates(noWindows, p99Gated).filter((c) => c.name === 'relay p99 latency vs socat')).toEqual([]);
    // As the file has it: reported, not gated.
    expect(evaluateGates(sampleResult({ latencyUs: 400 }, { repetitions: 3 }), gates).find((c) => c.name === 'relay p99 latency vs socat')).toMatchObject({ advisory: true, limit: 'none' });
  });

  it('flag a regression against a baseline: CPU per packet as the ratio to socat, under twice the baseline\'s; latency and the rest beyond the noise', () => {
    const baseline = baselineFromResult(sampleResult({}, { repetitions: 3 }));
    expect(Object.keys(baseline.samples).every((k) => k.endsWith('|relay') || k.endsWith('|socat'))).toBe(true);
    const lenient = { ...gates, absolute: { ...gates.absolute, relayMaxLossPct: 50 } };
    expect(failures(evaluateGates(sampleResult({ lost: 0, cpuPerStream: 0.09 }), lenient, baseline))).toEqual([]);
    // CPU per packet 0.05 → 0.11 s per stream against socat's unchanged 0.2: the ratio more than doubled.
    const failed = failures(evaluateGates(sampleResult({ lost: 5, cpuPerStream: 0.11, latencyUs: 700 }), lenient, baseline));
    expect(failed.map((c) => c.name)).toEqual(expect.arrayContaining(['regression: loss %', 'regression: CPU µs/packet relay/socat', 'regression: p50 µs']));
    // p99 is reported: the machine's stalls set it (regression-gates.ts).
    expect(evaluateGates(sampleResult({ latencyUs: 700 }), lenient, baseline).find((c) => c.name === 'regression: p99 µs')).toMatchObject({ pass: true, advisory: true });
    expect(describeCheck(failed.find((c) => c.name === 'regression: CPU µs/packet relay/socat' && c.step === '1')!)).toBe('FAIL regression: CPU µs/packet relay/socat: multi-stream / step 1 / relay: CPU µs/packet relay/socat vs baseline 0.25 = 0.553 (limit < 0.5 (2 × baseline))');
    // A baseline without socat (made before it kept socat's figures): CPU as a figure within the noise.
    const relayOnly = { ...baseline, samples: Object.fromEntries(Object.entries(baseline.samples).filter(([k]) => !k.endsWith('|socat'))) };
    expect(failures(evaluateGates(sampleResult({ cpuPerStream: 0.09 }), lenient, relayOnly)).map((c) => c.name)).toContain('regression: CPU µs/packet');
  });

  it('refuse a baseline made under another load, whatever the repetitions', () => {
    const baseline = baselineFromResult(sampleResult({}, { repetitions: 3 }));
    expect(failures(evaluateGates(sampleResult(), gates, baseline))).toEqual([]);
    expect(failures(evaluateGates({ ...sampleResult(), parameters: { n: 5, repetitions: 1 } }, gates, baseline))).toEqual([]);
    const other = failures(evaluateGates({ ...sampleResult(), parameters: { n: 5, ratePps: 5000 } }, gates, baseline));
    expect(other).toHaveLength(1);
    expect(other[0].metric).toMatch(/ratePps: undefined → 5000.*--update-baseline/);
  });

  it('keep one baseline per load: a run is compared with its own load\'s, and a load without one is said so while the absolute gates still apply', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-baselines-'));
    const made = { ...sampleResult({}, { repetitions: 3 }), parameters: { n: 5, ratePps: 1000, repetitions: 3 } };
    const file = baselinePath(made, dir);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(baselineFromResult(made)));
    expect(file).toMatch(/multi-stream\/5-[0-9a-f]{10}\.json$/);
    // Same load, other repetitions and relay settings: the same baseline.
    const same = gateRun({ ...sampleResult(), parameters: { n: 5, ratePps: 1000, repetitions: 1, egress: 'udp' } }, gates, true, dir);
    expect(same.baseline?.runId).toBe('sample-run');
    expect(same.checks.some((c) => c.name.startsWith('regression: '))).toBe(true);
    // Another load (a user's multi-stream -- 5 at 5000/s): no baseline, said once as INFO, verdict from the absolute gates.
    const other = gateRun({ ...sampleResult(), parameters: { n: 5, ratePps: 5000, repetitions: 1 } }, gates, true, dir);
    expect(other.baseline).toBeUndefined();
    const info = other.checks.filter((c) => c.name === 'regression');
    expect(info).toHaveLength(1);
    expect(describeCheck(info[0])).toMatch(/^INFO regression: .*no baseline for this load .*npm run gate -- results\/sample-run --update-baseline/);
    expect(verdictOf(other.checks)).toBe('pass');
    expect(verdictOf(gateRun({ ...sampleResult({ duplicates: 1 }), parameters: { n: 5, ratePps: 5000 } }, gates, true, dir).checks)).toBe('fail');
  });

  it('take an NDR lower than the baseline as a regression only when the instrument did not set it', () => {
    const search = (ndrPps: number, limited: boolean) => ({ contender: 'relay', series: 'relay', repetition: 1, streams: 1, size: 512, ndrPps, pdrPps: ndrPps, pdrLossPct: 0.1, ceilingPps: 300000, ndrLimitedByInstrument: limited, resolution: 0.1, trials: [] });
    const run = (ndrPps: number, limited: boolean) => ({ ...sampleResult(), searches: [search(ndrPps, limited)] });
    const baseline = baselineFromResult(run(270000, true));
    const ndr = (checks: ReturnType<typeof evaluateGates>) => checks.find((c) => c.name === 'regression: NDR pps')!;
    expect(ndr(evaluateGates(run(170000, false), gates, baseline))).toMatchObject({ pass: false, value: 170000 });
    expect(ndr(evaluateGates(run(170000, true), gates, baseline))).toMatchObject({ pass: true, advisory: true });
    expect(ndr(evaluateGates(run(260000, false), gates, baseline))).toMatchObject({ pass: true });
  });

  it('write github-action-benchmark entries', () => {
    const { bigger, smaller } = benchmarkEntries(sampleResult());
    expect(bigger[0]).toMatchObject({ unit: 'packets/s' });
    expect(smaller.find((e) => e.name === 'multi-stream 5 relay loss')).toMatchObject({ unit: '%', value: 0 });
    expect(smaller.find((e) => e.name === 'multi-stream 5 relay CPU per packet')).toMatchObject({ unit: 'us', value: 50 });
  });
});

describe('compare', () => {
  it('marks changes beyond the noise and leaves noise alone', () => {
    const changes = compareRuns(sampleResult({ latencyUs: 40 }), sampleResult({ latencyUs: 200, lost: 50 }));
    const relay5 = changes.filter((c) => c.step === '5' && c.series === 'relay');
    expect(relay5.find((c) => c.metric === 'p50 µs')!.verdict).toBe('regression');
    expect(relay5.find((c) => c.metric === 'loss %')!.verdict).toBe('regression');
    expect(relay5.find((c) => c.metric === 'duplicates')!.verdict).toBe('same');
    const socat = changes.filter((c) => c.series === 'socat');
    expect(socat.every((c) => c.verdict === 'same')).toBe(true);
  });

  it('uses the spread over repetitions as the noise', () => {
    const noisy = compareRuns(sampleResult({}, { repetitions: 3, jitter: 200 }), sampleResult({}, { repetitions: 3, jitter: 200 }));
    // socat p50 30, 230, 430 µs: spread 400 beats the floor (100 µs or 100% of the median 230).
    expect(noisy.find((c) => c.series === 'socat' && c.metric === 'p50 µs')!.noise).toBeCloseTo(400, 0);
  });
});

describe('reports', () => {
  it('render the declared charts as SVG with marks, and Markdown and HTML with the figures', async () => {
    const result = sampleResult();
    const charts = await buildCharts(result);
    expect(charts.map((c) => c.id)).toEqual(['loss', 'delivered', 'latency', 'cpu-per-packet', 'attribution']);
    for (const c of charts) expect(c.svg).toMatch(/^<svg[^>]*>.*class="mark-/s);
    const md = renderMarkdown(result, charts);
    expect(md).toContain('| 5 | relay | 5,000 | 5,000 | 0.000 | 0 | 0 | 0 | 0 |');
    expect(md).toContain('250,000 packets/s');
    expect(md).toContain('Topology **snooping**');
    const html = renderHtml(result, charts);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});

describe('gate file', () => {
  it('states every limit with its rule, and refuses a limit without one', () => {
    expect(Object.keys(gates.rules).length).toBe(12);
    expect(Object.values(gates.rules).every((r) => r.length > 40)).toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-gates-'));
    const raw = JSON.parse(readFileSync(DEFAULT_GATE_FILE, 'utf8'));
    delete raw.performance.relayMaxCpuPerPacketRatioToSocat.rule;
    writeFileSync(path.join(dir, 'gates.json'), JSON.stringify(raw));
    expect(() => loadGateFile(path.join(dir, 'gates.json'))).toThrow(/'performance.relayMaxCpuPerPacketRatioToSocat.rule' must say why/);
  });
});
