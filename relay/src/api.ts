// The relay's public face: what the harness, the scenarios, netns and the integration tests use of
// it (paths, the addon and its types, modes, the control protocol and its wire types, the state
// file, the counter catalogue, the steering table's rule, formatting). Outside relay/ only the unit
// tests of one relay module import that module itself (test/unit/import-graph.test.ts).
export { addonPath, loadAddon, projectRoot, EGRESS_MODES, FANOUT_MODES, INGRESS_MODES, type EgressMode, type FanoutMode, type IngressMode } from './native.js';
export type { ForwarderOptions, ForwarderStats, NativeRule } from './native.js';
export { loadTestAddon, testAddonPath } from './test-addon.js';
export { ControlClient } from './control-client.js';
export { LineSplitter, MAX_LINE_BYTES, type Response } from './protocol.js';
export { saveState } from './state-file.js';
export { singleOwner, withMemberAdded } from './steering.js';
export { WORKER_COUNTERS, counterLine, sumCounters, type CounterSpec, type WorkerCounterKey, type WorkerCounters } from './counters.js';
export { VERSION } from './version.js';
export { DOWN_RATIO } from './autoscale.js';
export { endpoint } from './rules.js';
export { renderTable } from './table.js';
export type { RuleWithState, RuleWithStats } from './supervisor.js';
export type { WorkerInfo, WorkerStats } from './workers.js';
export { NAP_RULE, framesPerWake, napUs } from './wake-rule.js';
