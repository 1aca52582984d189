// The kernel's own multicast forwarding, configured with smcroute static (S,G) routes: IPv4
// multicast routing, or IPv6 (CONFIG_IPV6_MROUTE, /proc/net/ip6_mr_cache) for IPv6 streams, with
// MLD joins. The kernel cannot rewrite group or port: the sink joins the input groups for this contender.
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nsSpawn } from '../../../netns/spawn.js';
import { commandLine, pinned } from '../placement.js';
import { sysctl } from '../../../netns/sysctl.js';
import { commandExists } from './which.js';
import { MFC_FILE, multicastRoutes } from './procnet.js';
import { familyOf, type Family } from '../streams.js';
import type { Availability, Contender, ContenderReport, RunningContender, StartOptions } from './types.js';

export const kernelContender: Contender = {
  name: 'kernel',
  rewrites: false,
  needsForwarding: true,
  async available(family: Family): Promise<Availability> {
    // The multicast forwarding cache's file exists only in a kernel built with multicast routing.
    const { path: cache, option } = MFC_FILE[family];
    if (!existsSync(cache)) return { ok: false, kernelLacks: true, reason: `this kernel has no IPv${family} multicast routing (${option} is not set; ${cache} is missing): kernel routing cannot be measured on this machine` };
    return (await commandExists('smcrouted')) ? { ok: true } : { ok: false, reason: 'smcrouted not found: apt-get install smcroute' };
  },
  async start({ chain, streams, logDir, cpus }: StartOptions): Promise<RunningContender> {
    const conf = path.join(logDir, 'smcroute.conf');
    const family = familyOf(streams[0]?.inGroup ?? '');
    // The generator's address of the streams' family: the S of every (S,G) route.
    const source = family === 6 ? chain.gen.addr6 : chain.gen.addr;
    writeFileSync(
      conf,
      [
        `phyint ${chain.relayIn.ifname} enable`,
        // Every output link (one but in replication): one MFC entry then carries them all.
        ...chain.outputs.map((o) => `phyint ${o.relayOut.ifname} enable`),
        // A source makes each route an (S,G) entry installed at once, not on the first packet.
        ...streams.map((s) => `mroute from ${chain.relayIn.ifname} source ${source} group ${s.inGroup} to ${chain.outputs.map((o) => o.relayOut.ifname).join(' ')}`),
        // A router behind a snooping switch must ask for its groups like any receiver.
        ...streams.map((s) => `mgroup from ${chain.relayIn.ifname} group ${s.inGroup}`),
      ].join('\n') + '\n',
    );
    // smcroute joins every group on one socket: lift the per-socket limit in this namespace.
    // (IPv6 has no such limit.)
    if (family === 4 && streams.length > 20) await sysctl(chain.relayIn.ns, 'net.ipv4.igmp_max_memberships', streams.length + 10);
    const args = ['-n', '-N', '-f', conf, '-i', `mcr-${chain.prefix}`, '-u', path.join(logDir, 'smcroute.sock'), '-P', path.join(logDir, 'smcroute.pid'), '-l', 'notice'];
    const command = commandLine(chain.relayIn.ns, cpus, 'smcrouted', args);
    const log = createWriteStream(path.join(logDir, 'smcroute.log'));
    const child = nsSpawn(chain.relayIn.ns, ...pinned(cpus, 'smcrouted', args), { stdout: 'pipe', stderr: 'pipe', reject: false });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });

    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== undefined && child.exitCode !== null) throw new Error(`smcrouted exited at start (see ${path.join(logDir, 'smcroute.log')})`);
      const routes = await multicastRoutes(chain.relayIn.ns, family);
      if (routes.length >= streams.length) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await child;
        throw new Error(`smcrouted installed ${routes.length} of ${streams.length} routes within 10 s`);
      }
      await sleep(50);
    }
    const before = await multicastRoutes(chain.relayIn.ns, family);

    return {
      cpuSeconds: () => null, // forwarding runs in softirq context: not attributable to a process
      async stop(): Promise<ContenderReport> {
        const after = await multicastRoutes(chain.relayIn.ns, family);
        const sum = (entries: typeof after, key: 'packets' | 'wrongIf') => entries.reduce((n, e) => n + e[key], 0);
        child.kill('SIGTERM');
        await child;
        log.end();
        return {
          commands: [command, `# ${path.basename(conf)}: per stream 'mroute from ${chain.relayIn.ifname} source ${source} group G to ${chain.outputs.map((o) => o.relayOut.ifname).join(' ')}' and 'mgroup from ${chain.relayIn.ifname} group G'`],
          counters: { forwarded: sum(after, 'packets') - sum(before, 'packets'), wrongInterface: sum(after, 'wrongIf') - sum(before, 'wrongIf'), routes: after.length },
        };
      },
    };
  },
};
