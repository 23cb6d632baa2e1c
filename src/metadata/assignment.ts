// Replica placement for new topics and topic ids: pure functions the controller calls.
//
// assignReplicas follows Kafka's rack-unaware AdminUtils.assignReplicasToBrokers: partition p's first
// replica (its preferred leader) is broker (startIndex + p) mod n, so leaders go round robin; followers
// sit at a shift from the leader that grows by one every n partitions, so the followers of one broker's
// leaders are spread over the other brokers instead of always being its right-hand neighbour.
import { ulid, ulidToUUID } from 'ulid';
import { InvalidPartitionsError, InvalidReplicationFactorError } from './errors.ts';

/**
 * @param brokerIds live brokers (sorted and deduplicated here, as Kafka does)
 * @param startIndex where the round robin starts, also the initial follower shift; Kafka picks it at
 *   random per topic so partition 0 of every topic does not land on the same broker — pass a seeded
 *   value for reproducible placement. Defaults to Math.random.
 * @returns replicas per partition, index = partition number, preferred leader first
 */
export function assignReplicas(
  brokerIds: number[],
  partitions: number,
  replicationFactor: number,
  startIndex?: number,
): number[][] {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  const n = brokers.length;
  if (!Number.isInteger(partitions) || partitions <= 0) throw new InvalidPartitionsError(partitions);
  if (!Number.isInteger(replicationFactor) || replicationFactor <= 0 || replicationFactor > n) {
    throw new InvalidReplicationFactorError(replicationFactor, n);
  }
  const start = startIndex === undefined ? Math.floor(Math.random() * n) : mod(Math.trunc(startIndex), n);
  let shift = start;
  const out: number[][] = [];
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (p + start) % n;
    const replicas = [brokers[first]];
    for (let j = 0; j < replicationFactor - 1; j++) {
      // 1 + (...) mod (n - 1) is never 0 or n: a follower never lands on the leader, and j distinct
      // offsets below n give distinct brokers.
      replicas.push(brokers[(first + 1 + ((shift + j) % (n - 1))) % n]);
    }
    out.push(replicas);
  }
  return out;
}

/** A new topic id: a ULID's 16 bytes as 32 lowercase hex digits (Kafka's topic UUID on the wire). */
export function newTopicId(now?: number): string {
  return ulidToUUID(now === undefined ? ulid() : ulid(now)).replaceAll('-', '').toLowerCase();
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
