// `--family 6` through the scenario CLI as a user runs it: the relay (MLD joins through its helper
// pool), socat (UDP6 with an MLD join) and the kernel (smcroute, IPv6 mroute) deliver every stream
// in full.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../harness/src/result.js';
import { projectRoot } from '../../relay/src/api.js';
import { announceSkip, noMulticastRouting, skipReason } from './env.js';

const reason = skipReason(['socat', 'smcrouted']);
announceSkip('IPv6 scenario integration', reason);
const noRouting = noMulticastRouting(6);
announceSkip('the kernel contender over IPv6 (expected skipped, reported, not failed)', noRouting);

const cli = (...args: string[]) => execa(process.execPath, [path.join(projectRoot, 'dist', 'scenarios', 'cli.js'), ...args], { reject: false, cwd: projectRoot });

describe.skipIf(reason)('scenarios over IPv6', () => {
  it('multi-stream 2 --family 6: relay, socat and kernel deliver every packet of ff15:: groups joined with MLD', async () => {
    const r = await cli('multi-stream', '2', '--family', '6', '--count', '500', '--warmup', '20', '--tos', '185', '--quiet', '--json');
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const result = JSON.parse(String(r.stdout)) as RunResult;
    expect(result.parameters).toMatchObject({ family: 6 });
    for (const step of result.steps) {
      const n = Number(step.step);
      for (const run of step.runs.filter((r) => !(noRouting && r.contender === 'kernel'))) {
        expect(run.status, `${step.step} ${run.contender}: ${run.reason}`).toBe('ok');
        expect(run.aggregate, run.contender).toMatchObject({ sent: 500 * n, delivered: 500 * n, lost: 0, duplicates: 0, corrupted: 0, misdelivered: 0 });
        expect(run.igmp, run.contender).toMatchObject({ groups: n, joined: n });
        expect(run.streams!.map((s) => s.group)).toEqual(['ff15::1:1', 'ff15::1:2'].slice(0, n));
      }
      const [relay, socat, kernel] = ['relay', 'socat', 'kernel'].map((c) => step.runs.find((r) => r.contender === c)!);
      // socat sends with its own hop limit and traffic class 0; the relay and the kernel decrement and carry the class.
      expect(relay.aggregate).toMatchObject({ ttl: { min: 7, max: 7 }, tos: { min: 185, max: 185 } });
      expect(socat.aggregate).toMatchObject({ ttl: { min: 8, max: 8 }, tos: { min: 0, max: 0 } });
      if (noRouting) expect(kernel).toMatchObject({ status: 'skipped', kernelLacks: true });
      else expect(kernel.aggregate).toMatchObject({ ttl: { min: 7, max: 7 }, tos: { min: 185, max: 185 } });
      expect(socat.report!.commands[0]).toMatch(/UDP6-RECV:5000,bind=\[ff15::1:1\],reuseaddr,ipv6-join-group=\[ff15::1:1\]:\w+ri,.* UDP6-DATAGRAM:\[ff15::2:1\]:5000,setsockopt-int=41:17:\d+,setsockopt-int=41:18:8,setsockopt-int=41:19:0/);
      if (!noRouting) {
        expect(kernel.report!.commands[1]).toContain('source fd00:251:1::2 group G');
        expect(kernel.report!.counters.forwarded).toBe(520 * n);
      }
    }
    expect(readFileSync(path.join(projectRoot, 'results', result.runId, 'report.md'), 'utf8')).toContain('· IPv6 ·');
  });

  it('a family other than 4 or 6 is refused with exit 2', async () => {
    const bad = await cli('multi-stream', '1', '--family', '5');
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toContain("Allowed choices are 4, 6");
  });
});
