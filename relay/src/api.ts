// The relay's public face: what the harness, the scenarios and netns use of it (paths, the addon,
// modes, wire types, the counter catalogue, formatting). Nothing outside relay/ (but its tests) imports another relay module.
export { addonPath, loadAddon, projectRoot, EGRESS_MODES, FANOUT_MODES, INGRESS_MODES, type EgressMode, type FanoutMode, type IngressMode } from './native.js';
export { loadTestAddon, testAddonPath } from './test-addon.js';
export { ControlClient } from './control-client.js';
export { WORKER_COUNTERS, counterLine, sumCounters, type CounterSpec, type WorkerCounterKey, type WorkerCounters } from './counters.js';
export { VERSION } from './version.js';
export { DOWN_RATIO } from './autoscale.js';
export { endpoint } from './rules.js';
export { renderTable } from './table.js';
export type { RuleWithStats } from './supervisor.js';
export type { WorkerInfo, WorkerStats } from './workers.js';
export { NAP_RULE, framesPerWake, napUs } from './wake-rule.js';
