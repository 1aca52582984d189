// Sysctls of our own namespaces (never the host's).
import { $ } from 'zx';

export function sysctl(ns: string, key: string, value: string | number): Promise<unknown> {
  if (!ns) return Promise.reject(new Error(`sysctl ${key}: no namespace given (never set on the host)`));
  return $`ip netns exec ${ns} sysctl -q -w ${`${key}=${value}`}`;
}
