import { capacity } from './capacity.js';
import { elastic } from './elastic.js';
import { faults } from './faults.js';
import { joinLeave } from './join-leave.js';
import { multiStream } from './multi-stream.js';
import { multiWorker } from './multi-worker.js';
import { replication } from './replication.js';
import type { Scenario } from './scenario.js';
import { soak } from './soak.js';
import { throughput } from './throughput.js';

export const SCENARIOS: Record<string, Scenario> = {
  'multi-stream': multiStream,
  'multi-worker': multiWorker,
  throughput,
  faults,
  soak,
  'join-leave': joinLeave,
  elastic,
  replication,
  capacity,
};
