// What a fault is (planned by a scenario, carried out by faults.ts or a contender, recorded in the
// result): data only, so the contenders' interface can name it without importing the injector.
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
