// The capacity scenario (RFC 3918 group capacity) end to end through the CLI: a search over the
// group count per contender at a fixed rate per group, recorded in result.json's limits, and the
// gate "relay group capacity" — the relay forwards every group the search offers — failing on its
// negative control (an output link too slow for the groups).
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCheck } from '../../harness/src/checks.js';
import type { RunResult } from '../../harness/src/result.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, noMulticastRouting, skipReason } from './env.js';

const reason = skipReason(['socat', 'smcrouted']);
announceSkip('capacity scenario', reason);
const noRouting = noMulticastRouting();

async function scenario(args: string[]): Promise<{ exitCode: number; result: RunResult; dir: string }> {
  const r = await execa(process.execPath, [path.join(projectRoot, 'dist', 'scenarios', 'cli.js'), 'capacity', ...args, '--trial-seconds', '1', '--resolution', '0.5', '--quiet', '--json'], { reject: false, cwd: projectRoot });
  if (r.exitCode === 2) throw new Error(`scenario could not run: ${r.stderr}`);
  const result = JSON.parse(String(r.stdout)) as RunResult;
  return { exitCode: r.exitCode ?? -1, result, dir: path.join(projectRoot, 'results', result.runId) };
}

const capacityGate = (result: RunResult) => result.checks.find((c) => c.name === 'relay group capacity');

describe.skipIf(reason)('capacity scenario', () => {
  it('20 groups at 10/s: relay and socat forward all 20 (one trial at the bound), the kernel skipped with its reason; gate, report and benchmark entry', async () => {
    const { exitCode, result, dir } = await scenario(['20']);
    expect(exitCode, result.checks.filter((c) => !c.pass).map(describeCheck).join('\n')).toBe(0);
    expect(result.parameters.ratePps).toBe(10); // the scenario's own default rate per group
    const limits = result.limits!;
    for (const contender of ['relay', 'socat']) {
      const l = limits.find((x) => x.contender === contender)!;
      expect(l, contender).toMatchObject({ over: 'groups', upper: 20, upperRule: 'N', found: 20, atUpper: true });
      expect(l.trials.map((t) => t.value)).toEqual([20]);
    }
    const kernelRun = result.steps.flatMap((s) => s.runs).find((r) => r.contender === 'kernel')!;
    if (noRouting) {
      expect(kernelRun).toMatchObject({ status: 'skipped', kernelLacks: true });
      expect(limits.some((l) => l.contender === 'kernel')).toBe(false);
    }
    // 20 groups × 10 packets (1 s at 10/s), each counted at the sink.
    const relayRun = result.steps.find((s) => s.step === 'relay 20 groups')!.runs[0];
    expect(relayRun.aggregate).toMatchObject({ streams: 20, expected: 200, delivered: 200, lost: 0 });
    expect(relayRun.igmp).toMatchObject({ groups: 20, joined: 20 });
    expect(capacityGate(result)).toMatchObject({ pass: true, value: 20, limit: '>= 20' });
    expect(existsSync(path.join(dir, 'capacity.svg'))).toBe(true);
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain('| groups | relay | ≥ 20 |');
    const g = await execa(process.execPath, [path.join(projectRoot, 'dist', 'harness', 'src', 'cli', 'gate.js'), dir, '--no-baseline'], { reject: false });
    expect(g.exitCode, String(g.stdout)).toBe(0);
    const bench = JSON.parse(readFileSync(path.join(dir, 'benchmark.json'), 'utf8')) as { name: string; unit: string; value: number }[];
    expect(bench.find((b) => b.name === 'capacity relay group capacity')).toMatchObject({ unit: 'groups', value: 20 });
  });

  it('negative control: an output link of 50kbit carries one group at 10/s (41 kbit/s) but not 4, so the capacity falls below N and the gate fails', async () => {
    const { exitCode, result } = await scenario(['4', '--contenders', 'relay', '--egress-limit', '50kbit']);
    expect(exitCode).toBe(1);
    const gate = capacityGate(result)!;
    expect(gate.pass).toBe(false);
    expect(gate.value).toBeLessThan(4);
    expect(describeCheck(gate)).toMatch(/search bound 4: N; at \d groups: \d+ of \d+ lost/);
  });

  it('refuses more than 10,000 groups, naming the limit', async () => {
    const r = await execa(process.execPath, [path.join(projectRoot, 'dist', 'scenarios', 'cli.js'), 'capacity', '10001'], { reject: false, cwd: projectRoot });
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('capacity: at most 10000 groups');
  });
});
