// Long-lived processes inside a namespace (mcrd, the generator and sink, socat, smcrouted): execa,
// for their streams, exit and cancellation. Short shell work goes through zx's $ instead.
import { execa, type Options, type ResultPromise } from 'execa';

/** Starts cmd inside ns (`ip netns exec` execs it: the pid is the process's own). */
export function nsSpawn<O extends Options = {}>(ns: string, cmd: string, args: string[], options?: O): ResultPromise<O> {
  return execa('ip', ['netns', 'exec', ns, cmd, ...args], options ?? ({} as O)) as unknown as ResultPromise<O>;
}
