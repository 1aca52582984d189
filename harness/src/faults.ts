// Faults injected while a step's traffic flows. Link faults happen to the topology, so every
// contender can face them; the others need the contender's help (RunningContender.inject).
import { flapRelayInput, recreateRelayInput } from '../../netns/faults.js';
import type { Chain } from '../../netns/topology.js';
import type { RunningContender } from './contenders/types.js';
import type { FaultDetail, FaultPlan } from './fault-plan.js';

export { LINK_FAULTS, type FaultDetail, type FaultKind, type FaultPlan, type FaultRecord } from './fault-plan.js';

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
