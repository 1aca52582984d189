// The worker counter catalogue (relay/src/counters.ts): the addon fills the keys it declares, and
// the totals, the Prometheus families and the mcrctl stats lines all come from it, so that a
// counter added to it (the fake one here) reaches every one of them.
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { counterLine, sumCounters, WORKER_COUNTERS, type CounterSpec, type WorkerCounters } from '../../relay/src/counters.js';
import { registerRelayMetrics, type RelayStats } from '../../relay/src/metric-families.js';
import { loadTestAddon, testAddonPath } from '../../relay/src/test-addon.js';

const built = existsSync(testAddonPath);
const keys = WORKER_COUNTERS.map((c) => c.key);

describe('worker counter catalogue', () => {
  it.skipIf(!built)('declares exactly the counters the addon fills (relay/native/counters.h)', () => {
    expect([...loadTestAddon().workerCounterKeys].sort()).toEqual([...keys].sort());
  });

  it('names each key, family and label once', () => {
    const unique = (list: string[]) => expect(new Set(list).size).toBe(list.length);
    unique(keys);
    unique(WORKER_COUNTERS.map((c) => c.metric));
    for (const line of ['dropped', 'reassembly']) unique(WORKER_COUNTERS.flatMap((c) => ('line' in c && c.line.name === line ? [c.line.label] : [])));
  });

  it('a counter added to it is summed and printed on its mcrctl line', () => {
    const fake: CounterSpec<'fakeDrops'> = { key: 'fakeDrops', metric: 'fake_drops', help: 'A counter added by the test.', line: { name: 'dropped', label: 'fake' } };
    const catalogue = [...WORKER_COUNTERS, fake];
    const worker = (n: number) => ({ ...sumCounters(WORKER_COUNTERS, []), ttlExpired: n, txNoSource: 2 * n, fakeDrops: 3 * n });
    const totals = sumCounters(catalogue, [worker(1), worker(10)]);
    expect(totals).toMatchObject({ ttlExpired: 11, txNoSource: 22, fakeDrops: 33, rx: 0 });
    expect(counterLine(catalogue, 'dropped', totals)).toBe('ttl_expired=11 no_source=22 fake=33');
  });

  it('totals start at 0 for every counter, in the catalogue order (the keys of mcrctl stats --json totals)', () => {
    const totals = sumCounters(WORKER_COUNTERS, []);
    expect(Object.keys(totals)).toEqual(keys);
    expect(Object.values(totals).every((n) => n === 0)).toBe(true);
    expect(counterLine(WORKER_COUNTERS, 'reassembly', { ...totals, fragments: 3, fragmentsUnwanted: 1 })).toBe('fragments=3 reassembled=0 expired=0 evicted=0 overlaps=0 duplicates=0 unwanted=1');
  });

  it('exports each counter per worker as mcr_worker_<metric>_total with its help', async () => {
    const counters = Object.fromEntries(keys.map((k, i) => [k, 100 + i])) as WorkerCounters;
    const stats: RelayStats = {
      workers: [{ interface: 'eth0', index: 0, pid: 1, state: 'running', restarts: 0, fanoutId: 1, startedAt: null, stats: { ...counters, dropped: {}, rules: [] } }],
      scaling: [],
      rules: [],
      igmp: { attempted: 0, succeeded: 0, failed: 0, leaves: 0, activeGroups: 0, sockets: 0, joining: 0, failedGroups: 0, leaving: 0, enabled: true },
      totals: counters,
      dropped: {},
    };
    const registry = new Registry();
    registerRelayMetrics(registry, async () => stats);
    const text = await registry.metrics();
    for (const c of WORKER_COUNTERS) {
      const name = `mcr_worker_${c.metric}_total`;
      expect(text).toContain(`# HELP ${name} ${c.help}\n# TYPE ${name} counter\n${name}{interface="eth0",worker="0"} ${counters[c.key]}\n`);
    }
  });
});
