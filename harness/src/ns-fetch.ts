// HTTP GET inside a network namespace (mcrd's metrics, a Prometheus beside it): a process cannot
// move its own sockets into another namespace, so a short-lived node does the request there.
import { execa } from 'execa';

const SCRIPT = `
fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2])) }).then(
  async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })),
  (e) => { console.error(e.cause?.message ?? e.message); process.exit(1); });`;

export interface FetchResult {
  status: number;
  body: string;
}

/** GETs url from inside ns; rejects when nothing answers (connection refused, timeout). */
export async function nsFetch(ns: string, url: string, timeoutMs = 10_000): Promise<FetchResult> {
  const r = await execa('ip', ['netns', 'exec', ns, process.execPath, '-e', SCRIPT, url, String(timeoutMs)], { reject: false, timeout: timeoutMs + 5000 });
  if (r.exitCode !== 0) throw new Error(`GET ${url} in namespace ${ns}: ${String(r.stderr).trim() || `exit ${r.exitCode ?? r.signal}`}`);
  return JSON.parse(String(r.stdout)) as FetchResult;
}
