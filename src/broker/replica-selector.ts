// Fetch from follower (KIP-392): which replica a consumer should read a partition from, as Kafka's
// ReplicaManager.findPreferredReadReplica and RackAwareReplicaSelector decide it. The broker setting
// `replica.selector.class` (off by default, as in Kafka) turns it on; then a leader answering a consumer's Fetch
// (v11+, which carries the client's rack) names a preferred read replica instead of returning records when an
// in-sync follower is in the client's rack and the leader is not. Pure: the caller gathers the facts.
import type { FollowerState } from '../replication/leader-replication.ts';

/** The one selector Kastor has: Kafka's org.apache.kafka.common.replica.RackAwareReplicaSelector. */
export type ReplicaSelector = 'rack-aware';

export const RACK_AWARE_SELECTOR_CLASS = 'org.apache.kafka.common.replica.RackAwareReplicaSelector';

/** `rack-aware` or Kafka's class name as a setting's value; null for anything else. */
export function parseReplicaSelector(value: string): ReplicaSelector | null {
  return value === 'rack-aware' || value === RACK_AWARE_SELECTOR_CLASS ? 'rack-aware' : null;
}

export interface ReadReplicaFacts {
  leaderId: number;
  /** The client's rack (Fetch v11's rack_id); empty: none. */
  clientRack: string;
  fetchOffset: number;
  isr: readonly number[];
  /** The leader's view of its followers in this epoch (their log end offsets, when last caught up). */
  followers: ReadonlyMap<number, FollowerState>;
  /** A registered broker's rack (null: none); undefined: not registered (no endpoint to send the client to). */
  rackOf: (brokerId: number) => string | null | undefined;
  /** Now, on the clock the followers' lastCaughtUpTime was taken with (monotonic). */
  now: number;
}

/**
 * The broker id the consumer should fetch from instead of the leader, or -1 to read from the leader. Only
 * in-sync followers that have the fetch offset are candidates (a lagging follower would hold the consumer
 * back, KAFKA-14372); among those in the client's rack the most caught-up one wins (largest log end offset,
 * then the most recently caught up), unless the leader is in that rack itself.
 */
export function preferredReadReplica(f: ReadReplicaFacts): number {
  if (f.clientRack === '') return -1;
  if (f.rackOf(f.leaderId) === f.clientRack) return -1;
  let best = -1;
  let bestEnd = -1;
  let bestLag = Infinity;
  for (const [id, state] of f.followers) {
    if (id === f.leaderId || !f.isr.includes(id) || state.logEndOffset < f.fetchOffset) continue;
    if (f.rackOf(id) !== f.clientRack) continue;
    const lag = f.now - state.lastCaughtUpTime;
    if (state.logEndOffset > bestEnd || (state.logEndOffset === bestEnd && lag < bestLag) || (state.logEndOffset === bestEnd && lag === bestLag && id < best)) {
      best = id;
      bestEnd = state.logEndOffset;
      bestLag = lag;
    }
  }
  return best;
}
