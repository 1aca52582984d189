// The gate limits (harness/gates.json): each limit with the rule it follows from. The loader
// refuses a limit without a number or without its rule.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../relay/src/api.js';

const LIMITS = {
  absolute: ['relayMaxLossPct', 'relayMaxDuplicates', 'relayMaxReorderedWithHashFanout', 'relayMaxMisdelivered', 'relayMaxCorrupted'],
  performance: ['relayMinNdrRatioToSocat', 'relayMaxP99RatioToSocat', 'minLatencyWindows', 'relayMaxCpuPerPacketRatioToSocat', 'minFramesPerWakeForCpuRatio', 'minCpuSecondsForRatio'],
  regression: ['maxRatioGrowth'],
} as const;

type Section = keyof typeof LIMITS;
type Limits<S extends Section> = Record<(typeof LIMITS)[S][number], number>;

export interface GateFile {
  absolute: Limits<'absolute'>;
  /** Ratios to socat in the same run; relayMaxP99RatioToSocat null: reported, not gated. */
  performance: Omit<Limits<'performance'>, 'relayMaxP99RatioToSocat'> & { relayMaxP99RatioToSocat: number | null };
  regression: Limits<'regression'>;
  /** Each limit's rule, by 'section.key'. */
  rules: Record<string, string>;
}

export const DEFAULT_GATE_FILE = path.join(projectRoot, 'harness', 'gates.json');

export function loadGateFile(file = DEFAULT_GATE_FILE): GateFile {
  let raw: Record<string, Record<string, { limit?: unknown; rule?: unknown } | undefined> | undefined>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`gate file ${file}: ${(err as Error).message}`);
  }
  const gates = { absolute: {}, performance: {}, regression: {}, rules: {} } as unknown as GateFile;
  for (const [section, keys] of Object.entries(LIMITS) as [Section, readonly string[]][]) {
    for (const key of keys) {
      const entry = raw[section]?.[key];
      const nullable = section === 'performance' && key === 'relayMaxP99RatioToSocat';
      if (typeof entry?.limit !== 'number' && !(nullable && entry?.limit === null)) throw new Error(`gate file ${file}: '${section}.${key}.limit' must be a number${nullable ? ' or null' : ''}`);
      if (typeof entry.rule !== 'string' || entry.rule.trim() === '') throw new Error(`gate file ${file}: '${section}.${key}.rule' must say why the limit is what it is`);
      (gates[section] as Record<string, number | null>)[key] = entry.limit as number | null;
      gates.rules[`${section}.${key}`] = entry.rule;
    }
  }
  return gates;
}
