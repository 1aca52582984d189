// The classic baseline: one socat process per stream, started as a user would.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nsSpawn } from '../../../netns/spawn.js';
import { commandLine, cpuListsOf, pinned } from '../placement.js';
import { commandExists } from './which.js';
import { cpuSeconds } from './cpu.js';
import { interfaceIndex, udpSocketCount, udpSocketDrops } from './procnet.js';
import { familyOf } from '../streams.js';
import type { Availability, Contender, ContenderReport, RunningContender, StartOptions } from './types.js';

// <netinet/in.h> on Linux: IPPROTO_IPV6 41, IPV6_MULTICAST_IF 17, IPV6_MULTICAST_HOPS 18, IPV6_MULTICAST_LOOP 19.
const IPV6_MULTICAST = { level: 41, ifindex: 17, hops: 18, loop: 19 };

/** The IPv6 twins of ip-multicast-if, ip-multicast-ttl and ip-multicast-loop=0. */
function ipv6MulticastOptions(ifindex: number, hops: number): string {
  const { level } = IPV6_MULTICAST;
  return [`setsockopt-int=${level}:${IPV6_MULTICAST.ifindex}:${ifindex}`, `setsockopt-int=${level}:${IPV6_MULTICAST.hops}:${hops}`, `setsockopt-int=${level}:${IPV6_MULTICAST.loop}:0`].join(',');
}

export const socatContender: Contender = {
  name: 'socat',
  rewrites: true,
  needsForwarding: false,
  async available(): Promise<Availability> {
    return (await commandExists('socat')) ? { ok: true } : { ok: false, reason: 'socat not found: apt-get install socat' };
  },
  async start({ chain, streams, logDir, cpus }: StartOptions): Promise<RunningContender> {
    const log = createWriteStream(path.join(logDir, 'socat.log'));
    const commands: string[] = [];
    const family = familyOf(streams[0]?.inGroup ?? '');
    // socat 1.7 has no IPv6 multicast-if/hops/loop options: they go in as raw setsockopt-int.
    const outIndex = family === 6 ? await interfaceIndex(chain.relayOut.ns, chain.relayOut.ifname) : 0;
    const children = streams.map((s) => {
      // bind=<group> so each socket only gets its own group although all share one port.
      const [recv, send] = family === 6
        ? [
          `UDP6-RECV:${s.inPort},bind=[${s.inGroup}],reuseaddr,ipv6-join-group=[${s.inGroup}]:${chain.relayIn.ifname},rcvbuf=4194304`,
          `UDP6-DATAGRAM:[${s.outGroup}]:${s.outPort},${ipv6MulticastOptions(outIndex, 8)}`,
        ]
        : [
          `UDP4-RECV:${s.inPort},bind=${s.inGroup},reuseaddr,ip-add-membership=${s.inGroup}:${chain.relayIn.ifname},rcvbuf=4194304`,
          `UDP4-DATAGRAM:${s.outGroup}:${s.outPort},ip-multicast-if=${chain.relayOut.addr},ip-multicast-ttl=8,ip-multicast-loop=0`,
        ];
      // socat reads into an 8192-byte buffer by default and would cut larger datagrams short.
      const args = ['-u', '-b', '65536', recv, send];
      commands.push(commandLine(chain.relayIn.ns, cpus, 'socat', args));
      const child = nsSpawn(chain.relayIn.ns, ...pinned(cpus, 'socat', args), { stdout: 'ignore', stderr: 'pipe', reject: false });
      // Written chunk by chunk, not piped: a pipe per child adds listeners to the one log stream
      // (Node warns past 10 of them).
      child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
      return child;
    });
    // socat has no readiness signal: wait until every receive socket is bound, or one has died.
    const port = streams[0]?.inPort;
    const deadline = Date.now() + 10_000;
    while (port !== undefined) {
      const dead = children.find((c) => c.exitCode !== undefined && c.exitCode !== null);
      if (dead) throw new Error(`socat exited at start (see ${path.join(logDir, 'socat.log')})`);
      const bound = await udpSocketCount(chain.relayIn.ns, port, family);
      if (bound >= streams.length) break;
      if (Date.now() > deadline) throw new Error(`only ${bound} of ${streams.length} socat sockets bound after 10 s`);
      await sleep(50);
    }
    const dropsAtStart = port === undefined ? 0 : await udpSocketDrops(chain.relayIn.ns, port, family);

    return {
      cpuSeconds: () => children.reduce((sum, c) => sum + (c.pid ? cpuSeconds(c.pid) : 0), 0),
      cpuLists: () => cpuListsOf(children.flatMap((c) => (c.pid ? [c.pid] : []))),
      async stop(): Promise<ContenderReport> {
        const drops = port === undefined ? 0 : (await udpSocketDrops(chain.relayIn.ns, port, family)) - dropsAtStart;
        for (const c of children) c.kill('SIGTERM');
        await Promise.all(children);
        log.end();
        return { commands, ingressDrops: drops, counters: { processes: children.length } };
      },
    };
  },
};
