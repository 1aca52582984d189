// Faults injected while a step's traffic flows. Link faults happen to the topology, so every
// contender can face them; the others need the contender's help (RunningContender.inject).
import { flapRelayInput, recreateRelayInput } from '../../netns/faults.js';
import type { Chain } from '../../netns/topology.js';
import type { RunningContender } from './contenders/types.js';

export type FaultKind = 'worker-kill' | 'supervisor-restart' | 'link-flap' | 'link-recreate' | 'rule-churn' | 'worker-scale';

export interface FaultPlan {
  kind: FaultKind;
  /** Seconds after the generator started. */
  atSeconds: number;
  /** link-flap: how long the link stays down; rule-churn: how long changes go on. */
  durationMs?: number;
  /** rule-churn: rule changes per second asked for. */
  changesPerSecond?: number;
  /** worker-scale: workers added (then stopped again after durationMs). */
  addWorkers?: number;
}

/** What a contender reports of a fault it carried out (numbers and stream lists only). */
export type FaultDetail = Record<string, number | number[]>;

export interface FaultRecord {
  kind: FaultKind;
  /** When the fault started and how long carrying it out took (ms since the generator started, ms). */
  startedMs: number;
  tookMs: number;
  detail: FaultDetail;
}

export const LINK_FAULTS: readonly FaultKind[] = ['link-flap', 'link-recreate'];

export async function injectFault(plan: FaultPlan, chain: Chain, running: RunningContender, contender: string): Promise<FaultDetail> {
  switch (plan.kind) {
    case 'link-flap':
      await flapRelayInput(chain, plan.durationMs ?? 1000);
      return { downMs: plan.durationMs ?? 1000 };
    case 'link-recreate':
      await recreateRelayInput(chain);
      return {};
    default:
      if (!running.inject) throw new Error(`${contender} cannot take fault '${plan.kind}'`);
      return running.inject(plan);
  }
}
