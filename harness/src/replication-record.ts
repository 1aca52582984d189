// What result.json keeps of a replication run (one input forwarded to K copies), beside its
// aggregate, which counts copies.
export type ReplicationMode = 'groups' | 'interfaces';
export const REPLICATION_MODES: readonly ReplicationMode[] = ['groups', 'interfaces'];

export interface ReplicationRecord {
  mode: ReplicationMode;
  /** Copies of every input packet the contender was to deliver. */
  copies: number;
  /** Copies whose sink counted at least one packet. */
  copiesSeen: number;
  /** Input packets/s the generator achieved (the aggregate's rates count copies). */
  inputPps: number;
  /** Each copy, as '<group>:<port> on <interface>' (the sink's side). */
  destinations: string[];
}
