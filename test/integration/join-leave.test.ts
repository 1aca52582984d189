// The join-leave scenario end to end through the CLI, on the snooping rig the scenarios build:
// what result.json records of join and leave delay, the gate lines, and the negative control
// (mcrd --no-igmp never joins: the join gate fails, naming it). Times are judged by the gates, not here.
import { execa } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCheck } from '../../harness/src/checks.js';
import { relayContender } from '../../harness/src/contenders/relay.js';
import { runJoinLeave } from '../../harness/src/join-leave.js';
import { joinLeaveChecks } from '../../harness/src/join-leave-gates.js';
import type { RunResult } from '../../harness/src/result.js';
import type { SinkSummary } from '../../harness/src/sink.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, noMulticastRouting, skipReason } from './env.js';

const reason = skipReason(['socat', 'smcrouted', 'tcpdump']);
announceSkip('join-leave scenario', reason);
const noRouting = noMulticastRouting();

async function scenario(args: string[]): Promise<{ exitCode: number; result: RunResult; dir: string }> {
  const r = await execa(process.execPath, [path.join(projectRoot, 'dist', 'scenarios', 'cli.js'), 'join-leave', ...args, '--quiet', '--json'], { reject: false, cwd: projectRoot });
  if (r.exitCode === 2) throw new Error(`scenario could not run: ${r.stderr}`);
  const result = JSON.parse(String(r.stdout)) as RunResult;
  return { exitCode: r.exitCode ?? -1, result, dir: path.join(projectRoot, 'results', result.runId) };
}

async function gate(dir: string): Promise<string> {
  const g = await execa(process.execPath, [path.join(projectRoot, 'dist', 'harness', 'src', 'cli', 'gate.js'), dir, '--no-baseline'], { reject: false });
  return String(g.stdout);
}

describe.skipIf(reason)('join-leave scenario', () => {
  it('10 groups: relay, socat and kernel side by side; per-group join and leave delays, the bridge timers, the relay with --igmp-leave-delay', async () => {
    const { exitCode, result, dir } = await scenario(['10', '--steps', '10']);
    expect(exitCode).toBe(0);
    expect(result.steps.map((s) => s.step)).toEqual(['10', '10 burdened 10×3000', '10 leave-delay 1000']);
    const [ladder, burdened, delayed] = result.steps;
    expect(ladder.runs.map((r) => r.contender).sort()).toEqual(['kernel', 'relay', 'socat']);
    if (noRouting) expect(ladder.runs.find((r) => r.contender === 'kernel')).toMatchObject({ status: 'skipped', kernelLacks: true });
    expect(burdened.runs.map((r) => r.contender).sort()).toEqual(['relay', 'socat']);
    expect(delayed.runs.map((r) => r.contender)).toEqual(['relay']);
    for (const run of [...ladder.runs, ...burdened.runs, ...delayed.runs].filter((r) => r.status !== 'skipped')) {
      expect(run.status, `${run.contender}: ${run.reason}`).toBe('ok');
      const { join, leave } = run.joinLeave!;
      // Every group arrived after its request and stopped after its removal: a delay for each.
      expect(join.perGroupMs).toHaveLength(10);
      expect(join.distribution).toMatchObject({ groups: 10, measured: 10 });
      expect(join.arrivedBeforeRequest).toBe(0);
      expect(leave!.distribution).toMatchObject({ groups: 10, measured: 10 });
      expect(leave!.neverSeen).toBe(0);
      expect(leave!.bridge).toMatchObject({ lastMemberCount: 2, lastMemberIntervalMs: 1000, fastLeave: false });
      expect(run.exemptFromLoss).toMatch(/join\/leave delay/);
      expect(run.igmp).toMatchObject({ groups: 10, joined: 10 });
    }
    // Burdened: 10 other groups forwarded at 3000 packets/s each all along, and never interrupted.
    for (const run of burdened.runs.filter((r) => r.status === 'ok')) expect(run.joinLeave!.burden, run.contender).toMatchObject({ groups: 10, ratePps: 3000, gapsAfterJoin: 0 });
    expect(delayed.runs[0].joinLeave!.leave!.configuredDelayMs).toBe(1000);
    expect(delayed.runs[0].report!.commands[0]).toContain('--igmp-leave-delay 1000');
    // The sink reports when each stream's first and last packet came, on the generator's clock.
    const sink = JSON.parse(readFileSync(path.join(dir, 'logs', '10-relay-r1', 'sink.json'), 'utf8')) as SinkSummary;
    for (const s of sink.streams) expect(s.lastArrivalNs).toBeGreaterThan(s.firstArrivalNs);
    // The gate prints what did not pass (FAIL, INFO); the run's own checks hold every line.
    const lines = [...result.checks.map(describeCheck), await gate(dir)].join('\n');
    expect(lines).toMatch(/PASS relay join delay: join-leave \/ step 10 \/ relay: join delay p99 ms at 10 groups = [\d.]+ \(limit <= 1000\)/);
    expect(lines).toMatch(/PASS relay leave delay: join-leave \/ step 10 leave-delay 1000 \/ relay: leave delay max ms at 10 groups, --igmp-leave-delay 1000 \+ bridge 2 × 1000 ms \+ removal acknowledged in ([\d.]+) ms \+ 100 = [\d.]+ \(limit <= [\d.]+\)/);
    expect(lines).toMatch(/INFO socat join delay: join-leave \/ step 10 \/ socat: join delay p99 ms at 10 groups = [\d.]+ \(limit none, not gated\)/);
  }, 300_000);

  it('negative control: mcrd --no-igmp never joins, so no group arrives and the join gate fails', async () => {
    const { exitCode, result, dir } = await scenario(['1', '--steps', '1', '--contenders', 'relay', '--no-igmp']);
    expect(exitCode).toBe(1);
    const run = result.steps[0].runs[0];
    expect(run.joinLeave!.join.distribution).toMatchObject({ groups: 1, measured: 0, p99Ms: null });
    expect(run.joinLeave!.leave!.neverSeen).toBe(1);
    const lines = await gate(dir);
    expect(lines).toMatch(/FAIL relay join delay: join-leave \/ step 1 \/ relay: join delay p99 ms at 1 groups \(1 of 1 groups never arrived within ([\d.]+) ms\) = \1 \(limit <= 1000\)/);
    expect(lines).toMatch(/FAIL relay leave delay: join-leave \/ step 1 \/ relay: .*\(1 of 1 groups never reached the input link: nothing to leave\)/);
  }, 120_000);

  it('negative control: a group the bridge keeps (a permanent membership after the join) never stops, and the leave gate fails', async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'mcr-join-leave-'));
    const run = await runJoinLeave({
      contender: relayContender, series: 'relay', streams: 2, ratePps: 1000, count: 0, size: 512, warmup: 0, workers: 2, fanout: 'hash', ingress: 'ring', egress: 'frames',
      bridge: false, topology: 'snooping', family: 4, threads: 1, impairments: {}, runId: 4242, repetition: 1, logDir,
    }, { leaveDelayMs: 0, pinGroups: true });
    expect(run.status, run.reason).toBe('ok');
    expect(run.joinLeave!.join.distribution).toMatchObject({ groups: 2, measured: 2 });
    expect(run.joinLeave!.leave!.distribution).toMatchObject({ groups: 2, measured: 0, maxMs: null });
    const result = { scenario: 'join-leave', steps: [{ step: '2', x: 2, params: {}, runs: [run] }] } as unknown as RunResult;
    const lines = joinLeaveChecks(result).map(describeCheck);
    expect(lines).toContainEqual(expect.stringMatching(/^PASS relay join delay: join-leave \/ step 2 \/ relay: join delay p99 ms at 2 groups = [\d.]+ \(limit <= 1000\)$/));
    expect(lines).toContainEqual(expect.stringMatching(
      /^FAIL relay leave delay: join-leave \/ step 2 \/ relay: leave delay max ms at 2 groups, --igmp-leave-delay 0 \+ bridge 2 × 1000 ms \+ removal acknowledged in [\d.]+ ms \+ 100 \(2 of 2 groups still arrived at the end of the ([\d.]+) ms window\) = \1 \(limit <= [\d.]+\)$/,
    ));
  }, 60_000);
});
