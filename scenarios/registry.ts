import { multiStream } from './multi-stream.js';
import { multiWorker } from './multi-worker.js';
import type { Scenario } from './scenario.js';
import { throughput } from './throughput.js';

export const SCENARIOS: Record<string, Scenario & { defaultSize: number }> = {
  'multi-stream': { ...multiStream, defaultSize: 10 },
  'multi-worker': { ...multiWorker, defaultSize: 2 },
  throughput: { ...throughput, defaultSize: 4 },
};
