// Reports, gates and comparisons computed from result.json alone.
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../harness/src/compare.js';
import { baselineFromResult, benchmarkEntries, evaluateGates, junitXml, loadGateFile } from '../../harness/src/gate.js';
import { buildCharts } from '../../harness/src/report/charts.js';
import { renderHtml } from '../../harness/src/report/html.js';
import { renderMarkdown } from '../../harness/src/report/markdown.js';
import { sampleResult } from './sample-result.js';

const gates = loadGateFile();

describe('gates', () => {
  it('pass a clean run', () => {
    const checks = evaluateGates(sampleResult(), gates);
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.filter((c) => !c.pass)).toEqual([]);
  });

  it('name scenario, step, contender, metric, value and limit for each failure', () => {
    const failed = evaluateGates(sampleResult({ lost: 10, duplicates: 3 }), gates).filter((c) => !c.pass);
    expect(failed.map((c) => c.name)).toEqual(expect.arrayContaining(['relay loss', 'relay duplication']));
    expect(failed.find((c) => c.name === 'relay loss')).toMatchObject({ scenario: 'multi-stream', step: '1', contender: 'relay', metric: 'loss %', value: 1, limit: '<= 0.1' });
    expect(junitXml(sampleResult({ lost: 10 }), failed)).toMatch(/<failure message="FAIL relay loss: multi-stream \/ step 1 \/ relay: loss % = 1 \(limit &lt;= 0.1\)"/);
  });

  it('flag a regression against a baseline beyond the tolerance only', () => {
    const baseline = baselineFromResult(sampleResult());
    expect(evaluateGates(sampleResult({ lost: 1 }), { ...gates, absolute: { ...gates.absolute, relayMaxLossPct: 50 } }, baseline).filter((c) => !c.pass)).toEqual([]);
    const failed = evaluateGates(sampleResult({ lost: 5 }), { ...gates, absolute: { ...gates.absolute, relayMaxLossPct: 50 } }, baseline).filter((c) => !c.pass);
    expect(failed.map((c) => c.name)).toContain('regression: loss');
  });

  it('write github-action-benchmark entries', () => {
    const { bigger, smaller } = benchmarkEntries(sampleResult());
    expect(bigger[0]).toMatchObject({ unit: 'packets/s' });
    expect(smaller.find((e) => (e as { name: string }).name === 'multi-stream 5 relay loss')).toMatchObject({ unit: '%', value: 0 });
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
    const noisy = compareRuns(sampleResult({}, { repetitions: 3, jitter: 40 }), sampleResult({}, { repetitions: 3, jitter: 40 }));
    expect(noisy.find((c) => c.series === 'socat' && c.metric === 'p50 µs')!.noise).toBeCloseTo(80, 0);
  });
});

describe('reports', () => {
  it('render charts as SVG with marks, and Markdown and HTML with the figures', async () => {
    const result = sampleResult();
    const charts = await buildCharts(result);
    expect(charts.map((c) => c.id)).toEqual(['loss', 'delivered', 'latency', 'attribution']);
    for (const c of charts) expect(c.svg).toMatch(/^<svg[^>]*>.*class="mark-/s);
    const md = renderMarkdown(result, charts);
    expect(md).toContain('| 5 | relay | 5,000 | 5,000 | 0.000 |');
    expect(md).toContain('250,000 packets/s');
    const html = renderHtml(result, charts);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});
