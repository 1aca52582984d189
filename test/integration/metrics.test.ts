// mcrd --metrics-listen: the counters of `mcrctl stats` in the Prometheus text format, checked
// against real traffic and scraped by a real Prometheus server (Debian's `prometheus`).
import { execa } from 'execa';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsSpawn } from '../../netns/spawn.js';
import { startMcrd, MCRD } from '../../harness/src/mcrd.js';
import { nsFetch } from '../../harness/src/ns-fetch.js';
import type { SinkSummary } from '../../harness/src/sink.js';
import type { GenSummary } from '../../harness/src/generator.js';
import { planStreams } from '../../harness/src/streams.js';
import { type RuleWithStats } from '../../relay/src/api.js';
import { commandExists } from '../../harness/src/contenders/which.js';
import { announceSkip, skipReason } from './env.js';
import { ruleFor, startRig, traffic, type Rig } from './relay-rig.js';
import { parseSamples, sumSamples } from '../../harness/src/prometheus-text.js';

const PROMETHEUS = '/usr/bin/prometheus';
// The relay namespace is created for this test: nothing else listens there, every port is free.
const METRICS = '127.0.0.1:9108';
const PROMETHEUS_WEB = '127.0.0.1:9090';
const COUNT = 1000;

describe('--metrics-listen validation', () => {
  it.each([
    ['127.0.0.1', /metrics listen address '127.0.0.1': not HOST:PORT/],
    ['300.1.1.1:9108', /metrics listen address '300.1.1.1:9108': bad host '300.1.1.1'/],
    ['127.0.0.1:0', /metrics listen address '127.0.0.1:0': the port must be 1 to 65535/],
    ['[::1:9108', /metrics listen address '\[::1:9108': not HOST:PORT/],
  ])('%s is refused with exit 2 and says why', async (address, message) => {
    const r = await execa(process.execPath, [MCRD, '--metrics-listen', address, '--control-socket', '/tmp/mcr-never.sock'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

const reason = skipReason();
announceSkip('metrics integration', reason);
const prometheusMissing = existsSync(PROMETHEUS) ? undefined : `${PROMETHEUS} not found (apt-get install prometheus)`;
// In CI the Prometheus test must run: a missing server there fails it rather than skip it.
const inCI = process.env.CI === 'true';
// promtool wherever PATH has it (npm run setup installs it with prometheus).
const promtoolMissing = (await commandExists('promtool')) ? undefined : 'promtool not found on PATH (apt-get install prometheus)';
if (!reason && prometheusMissing && !inCI) console.warn(`SKIPPED scrape by a real Prometheus: ${prometheusMissing}`);

describe.skipIf(reason)('metrics of a running mcrd', () => {
  let rig: Rig;
  let dir: string;
  let gen: GenSummary;
  let sink: SinkSummary;
  const metrics = (p = '/metrics') => nsFetch(rig.chain.relayIn.ns, `http://${METRICS}${p}`);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mcr-metrics-'));
    rig = await startRig(['--workers', '2', '--metrics-listen', METRICS]);
    const plans = planStreams(2);
    for (const s of plans) await rig.mcrd.client.request('add', { rule: ruleFor(rig.chain, s) });
    ({ gen, sink } = await traffic(rig.chain, plans, COUNT, 1000, 61));
  });
  afterAll(async () => {
    await rig?.destroy();
    for (const d of [dir, rig?.dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('serves the counters of mcrctl stats, per rule, output and worker', async () => {
    const r = await metrics();
    expect(r.status).toBe(200);
    const all = parseSamples(r.body);
    const stats = await rig.mcrd.client.request<{ rules: RuleWithStats[]; totals: Record<string, number>; igmp: Record<string, number> }>('stats');
    expect(gen.totalSent).toBe(2 * COUNT);
    for (const rule of stats.rules) {
      const stream = sink.streams.find((s) => `s${s.stream}` === rule.name);
      expect(rule.packets, rule.name).toBe(COUNT);
      expect(sumSamples(all, 'mcr_rule_packets_total', { rule_name: rule.name! }), rule.name).toBe(rule.packets);
      expect(sumSamples(all, 'mcr_output_packets_total', { rule_name: rule.name! }), rule.name).toBe(stream?.received);
      expect(sumSamples(all, 'mcr_rule_state', { rule_name: rule.name!, state: 'forwarding' })).toBe(1);
      expect(sumSamples(all, 'mcr_rule_state', { rule_name: rule.name!, state: 'waiting' })).toBe(0);
    }
    // Two workers, each with its own series.
    expect(new Set(all.filter((s) => s.name === 'mcr_worker_received_frames_total').map((s) => s.labels.worker))).toEqual(new Set(['0', '1']));
    expect(sumSamples(all, 'mcr_worker_received_frames_total')).toBe(stats.totals.rx);
    expect(sumSamples(all, 'mcr_worker_sent_datagrams_total')).toBe(stats.totals.tx);
    expect(sumSamples(all, 'mcr_igmp_active_groups')).toBe(2);
    expect(sumSamples(all, 'mcr_igmp_joins_succeeded_total')).toBe(stats.igmp.succeeded);
    // Counters that must be 0 are there, and 0: an absent series would pass a "no drops" alert silently.
    expect(sumSamples(all, 'mcr_worker_dropped_frames_total', { reason: 'bad_ihl' })).toBe(0);
    expect(sumSamples(all, 'mcr_worker_ingress_drops_total')).toBe(0);
    expect(sumSamples(all, 'mcr_output_errors_total')).toBe(0);
    expect(sumSamples(all, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('answers 404 outside /metrics', async () => {
    for (const p of ['/', '/metricsx', '/api/v1/query']) expect((await metrics(p)).status, p).toBe(404);
  });

  it.skipIf(promtoolMissing && !inCI)("mcrd's own families pass promtool's lint", async () => {
    if (promtoolMissing) throw new Error(`${promtoolMissing}; CI=true, so this test must run`);
    // Only mcr_*: prom-client names three of its nodejs_* gauges *_total, which promtool flags.
    const ours = (await metrics()).body.split('\n').filter((l) => /^(# (HELP|TYPE) )?mcr_/.test(l)).join('\n') + '\n';
    const r = await execa('promtool', ['check', 'metrics'], { input: ours, reject: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });

  it.skipIf(prometheusMissing && !inCI)('a real Prometheus scrapes it: the forwarded count reaches its query API', async () => {
    if (prometheusMissing) throw new Error(`${prometheusMissing}; CI=true, so this test must run`);
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: mcrd\n    static_configs:\n      - targets: ['${METRICS}']\n`);
    const logFile = path.join(dir, 'prometheus.log');
    const log = createWriteStream(logFile);
    const prometheus = nsSpawn(rig.chain.relayIn.ns, PROMETHEUS, ['--config.file', config, '--storage.tsdb.path', path.join(dir, 'tsdb'), '--web.listen-address', PROMETHEUS_WEB], { all: true, reject: false });
    prometheus.all?.pipe(log);
    const query = async (q: string): Promise<number | undefined> => {
      const r = await nsFetch(rig.chain.relayIn.ns, `http://${PROMETHEUS_WEB}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = JSON.parse(r.body) as { status: string; data: { result: { value: [number, string] }[] } };
      return body.status === 'success' && body.data.result.length ? Number(body.data.result[0].value[1]) : undefined;
    };
    /** Polls until the query gives `want` (30 s at most); returns what it gave last. */
    const settle = async (q: string, want: number) => {
      let got: number | undefined;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(500)) {
        got = await query(q).catch(() => undefined);
        if (got === want) break;
      }
      return got;
    };
    try {
      const s1 = sink.streams.find((s) => s.stream === 1)!;
      expect(s1.received).toBe(COUNT);
      expect(await settle('sum(mcr_output_packets_total{rule_name="s1"})', s1.received), readFileSync(logFile, 'utf8').slice(-2000)).toBe(s1.received);
      expect(await query('up{job="mcrd"}')).toBe(1);
      expect(await query('sum(mcr_rule_packets_total)')).toBe(gen.totalSent);
      // Present and 0 (an absent series would give no result, not 0).
      expect(await query('sum(mcr_output_errors_total)')).toBe(0);
      expect(await query('sum(mcr_worker_malformed_frames_total)')).toBe(0);
    } finally {
      prometheus.kill('SIGTERM');
      await Promise.race([prometheus, sleep(10_000).then(() => prometheus.kill('SIGKILL'))]);
      log.end();
    }
  });

  it('an address in use stops a second mcrd with exit 1, naming the address', async () => {
    const logFile = path.join(dir, 'second-mcrd.log');
    await expect(startMcrd(rig.chain.relayIn.ns, path.join(dir, 'second.sock'), ['--metrics-listen', METRICS], logFile)).rejects.toThrow(/exit code 1/);
    const message = /--metrics-listen 127\.0\.0\.1:9108: address already in use \(EADDRINUSE\)/;
    // The log is written asynchronously: give it a moment to reach the file.
    for (let i = 0; i < 20 && !message.test(readFileSync(logFile, 'utf8')); i++) await sleep(50);
    expect(readFileSync(logFile, 'utf8')).toMatch(message);
  });

  it('mcrd stops with exit 0 and the endpoint goes away with it', async () => {
    rig.mcrd.client.close();
    expect(await rig.mcrd.stop()).toBe(0);
    await expect(metrics()).rejects.toThrow(/ECONNREFUSED/);
  });
});

// 200 GETs at once, each on its own connection, from inside the namespace; counts by status.
const FLOOD = `
const http = require('node:http');
const [url, n] = [process.argv[1], Number(process.argv[2])];
const counts = {};
let left = n;
const done = (k) => { counts[k] = (counts[k] ?? 0) + 1; if (--left === 0) process.stdout.write(JSON.stringify(counts)); };
for (let i = 0; i < n; i++) {
  http.get(url, { agent: false }, (res) => { res.resume(); res.on('end', () => done(res.statusCode)); }).on('error', (e) => done(e.code ?? 'error'));
}`;

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe.skipIf(reason)('metrics under a flood of scrapes (issue 21, item 3)', () => {
  let rig: Rig;
  beforeAll(async () => {
    // Bound to every address: mcrd serves it, and warns (scraped below through 127.0.0.1).
    rig = await startRig(['--workers', '2', '--no-igmp', '--metrics-listen', '0.0.0.0:9108']);
  });
  afterAll(async () => {
    await rig?.destroy();
    if (rig?.dir) rmSync(rig.dir, { recursive: true, force: true });
  });
  const rule = (i: number) => ({ name: `f${i}`, inputInterface: rig.chain.relayIn.ifname, inputGroup: `239.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, inputPort: 5000, outputs: [{ group: '239.2.0.1', port: 5000 + i, interface: rig.chain.relayOut.ifname }] });
  const counter = async (name: string) => sumSamples(parseSamples((await nsFetch(rig.chain.relayIn.ns, `http://${METRICS}/metrics`)).body), name) ?? Number.NaN;

  it('200 concurrent scrapes share snapshots, over the cap get 503, rules are still added, RSS stays bounded', async () => {
    await rig.mcrd.client.request('apply', { add: Array.from({ length: 200 }, (_, i) => rule(i)) });
    const gathersBefore = await counter('mcr_metrics_gathers_total');
    const rssBefore = rssKiB(rig.mcrd.pid);
    const flood = execa('ip', ['netns', 'exec', rig.chain.relayIn.ns, process.execPath, '-e', FLOOD, `http://${METRICS}/metrics`, '200'], { timeout: 60_000 });
    // Rules added one by one while the flood is under way; each ack's time is printed, not asserted.
    const ackMs: number[] = [];
    for (let i = 200; i < 220; i++) {
      const t = performance.now();
      await rig.mcrd.client.request('add', { rule: rule(i) });
      ackMs.push(performance.now() - t);
    }
    const statuses = JSON.parse(String((await flood).stdout)) as Record<string, number>;
    const rssAfter = rssKiB(rig.mcrd.pid);
    const gathers = (await counter('mcr_metrics_gathers_total')) - gathersBefore - 1; // this scrape's own
    const sorted = [...ackMs].sort((a, b) => a - b);
    console.log(`flood: ${JSON.stringify(statuses)}; ${gathers} gathers; adds acked in median ${sorted[10].toFixed(1)} ms, max ${sorted[19].toFixed(1)} ms; mcrd RSS ${rssBefore} -> ${rssAfter} KiB`);

    expect(Object.keys(statuses).sort()).toEqual(['200', '503']); // served, or refused at the cap: never reset
    expect(statuses['200'] + statuses['503']).toBe(200);
    // Shared snapshots: far fewer stats round trips to the workers than scrapes served.
    expect(gathers).toBeGreaterThan(0);
    expect(gathers).toBeLessThan(statuses['200'] / 2); // before: one each (a queue of 200 round trips)
    expect(await counter('mcr_metrics_refused_connections_total')).toBe(statuses['503']);
    expect((await rig.mcrd.client.request<{ rules: unknown[] }>('list')).rules).toHaveLength(220);
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024);
  });

  it('warns that 0.0.0.0 is not a loopback address', () => {
    const log = readdirSync(rig.dir).filter((f) => f.startsWith('mcrd-')).map((f) => readFileSync(path.join(rig.dir, f), 'utf8')).join('');
    expect(log).toMatch(/WARN .*metrics served on 0\.0\.0\.0:9108, not a loopback address: plain HTTP without authentication/);
  });
});
