// Replica placement for new topics, new partitions of a topic, and topic ids: pure functions that topic
// creation and growth (TopicAdmin, on whichever broker serves CreateTopics, CreatePartitions or
// auto-creates a topic) call.
//
// assignReplicas follows Kafka's rack-unaware AdminUtils.assignReplicasToBrokers: partition p's first
// replica (its preferred leader) is broker (startIndex + p) mod n, so leaders go round robin; followers
// sit at a shift from the leader that grows by one every n partitions, so the followers of one broker's
// leaders are spread over the other brokers instead of always being its right-hand neighbour.
//
// assignReplicasRackAware follows Kafka's AdminUtils.assignReplicasToBrokersRackAware (broker.rack): the
// brokers are first interleaved by rack (one from each rack in turn, racks in name order), the leaders go
// round robin over that list, and the followers are walked from the leader with the same growing shift but
// skip a broker whose rack already holds a replica of the partition while some rack holds none. So when
// there are at least as many racks as replicas, every replica of a partition is on its own rack, and a
// whole rack can be lost without losing a partition.
//
// placeReplicas chooses between the two as Kafka does, except when only some brokers have a rack: Kafka
// refuses to create the topic then ("Not all brokers have rack information", unless rack-unaware
// placement is asked for); Kastor places it rack-unaware and reports the brokers without a rack, which
// the caller logs as a warning, so a cluster in the middle of a rolling restart that adds --rack can
// still create topics.
import { ulidToUUID } from 'ulid';
import { InvalidPartitionsError, InvalidReplicationFactorError } from './errors.ts';

/** A live broker as placement sees it. */
export interface BrokerRack {
  id: number;
  rack: string | null;
}

export interface ReplicaPlacement {
  /** Replicas per partition, index = partition number, preferred leader first. */
  replicas: number[][];
  /** True when every broker has a rack and the rack-aware placement was used. */
  rackAware: boolean;
  /** Brokers without a rack when others have one (the placement then ignored racks); empty otherwise. */
  brokersWithoutRack: number[];
}

/** Kafka's rack-aware placement when every broker has a rack, rack-unaware otherwise (see the module comment). */
export function placeReplicas(brokers: BrokerRack[], partitions: number, replicationFactor: number, startIndex: number): ReplicaPlacement {
  const withRack = brokers.filter((b): b is { id: number; rack: string } => b.rack !== null);
  if (withRack.length > 0 && withRack.length === brokers.length) {
    return { replicas: assignReplicasRackAware(withRack, partitions, replicationFactor, startIndex), rackAware: true, brokersWithoutRack: [] };
  }
  const ids = brokers.map((b) => b.id);
  return {
    replicas: assignReplicas(ids, partitions, replicationFactor, startIndex),
    rackAware: false,
    brokersWithoutRack: withRack.length === 0 ? [] : brokers.filter((b) => b.rack === null).map((b) => b.id).sort((a, b) => a - b),
  };
}

/**
 * Replicas for the partitions a growing topic gets (CreatePartitions), numbered `existing.length` up to
 * `count - 1`. As Kafka's AdminZkClient.addPartitions, the start index is where partition 0's preferred
 * leader sits in the broker list the placement walks (the first broker at or above it when it is gone), and
 * the placement of the whole topic is continued from partition `existing.length`: the new partitions'
 * leaders carry on the round robin of the existing ones instead of piling onto the first broker again.
 */
export function placeAddedPartitions(brokers: BrokerRack[], existing: ReadonlyArray<ReadonlyArray<number>>, count: number, replicationFactor: number): ReplicaPlacement {
  const rackAware = brokers.length > 0 && brokers.every((b) => b.rack !== null);
  const list = rackAware
    ? rackAlternatedBrokerList(new Map(brokers.map((b) => [b.id, b.rack!])))
    : [...new Set(brokers.map((b) => b.id))].sort((a, b) => a - b);
  const firstLeader = existing[0]?.[0] ?? list[0];
  let start = list.indexOf(firstLeader);
  if (start < 0) start = Math.max(0, list.findIndex((id) => id >= firstLeader));
  const whole = placeReplicas(brokers, count, replicationFactor, start);
  return { ...whole, replicas: whole.replicas.slice(existing.length) };
}

/**
 * @param brokerIds live brokers (sorted and deduplicated here, as Kafka does)
 * @param startIndex where the round robin starts, also the initial follower shift; Kafka picks it at
 *   random per topic so partition 0 of every topic does not land on the same broker — pass a seeded
 *   value for reproducible placement.
 * @returns replicas per partition, index = partition number, preferred leader first
 */
export function assignReplicas(
  brokerIds: number[],
  partitions: number,
  replicationFactor: number,
  startIndex: number,
): number[][] {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  const n = brokers.length;
  validate(partitions, replicationFactor, n);
  const start = startOf(startIndex, n);
  let shift = start;
  const out: number[][] = [];
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (p + start) % n;
    const replicas = [brokers[first]];
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(brokers[followerIndex(first, shift, j, n)]);
    out.push(replicas);
  }
  return out;
}

/**
 * Kafka's rack-aware placement over brokers that all have a rack.
 * @param startIndex as for assignReplicas, an index into the rack-alternated list
 */
export function assignReplicasRackAware(
  brokers: Array<{ id: number; rack: string }>,
  partitions: number,
  replicationFactor: number,
  startIndex: number,
): number[][] {
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
  const list = rackAlternatedBrokerList(rackOf);
  const n = list.length;
  validate(partitions, replicationFactor, n);
  const numRacks = new Set(rackOf.values()).size;
  const start = startOf(startIndex, n);
  let shift = start;
  const out: number[][] = [];
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (p + start) % n;
    const leader = list[first];
    const replicas = [leader];
    const racksUsed = new Set([rackOf.get(leader)!]);
    // The walk visits every other broker once per n - 1 steps, so it always finds an unused broker on an
    // unused rack while one exists, and an unused broker afterwards (replicationFactor <= n).
    for (let k = 0; replicas.length < replicationFactor; k++) {
      // The shift is scaled by the rack count, as in Kafka: in the interleaved list one step of it moves
      // the candidates by a whole round of racks.
      const broker = list[followerIndex(first, shift * numRacks, k, n)];
      const rack = rackOf.get(broker)!;
      if (replicas.includes(broker)) continue;
      if (racksUsed.has(rack) && racksUsed.size < numRacks) continue;
      replicas.push(broker);
      racksUsed.add(rack);
    }
    out.push(replicas);
  }
  return out;
}

/**
 * Brokers interleaved by rack: racks in name order, each rack's brokers in id order, one from each rack in
 * turn (a rack that ran out is skipped). rack1: 0,1,2 / rack2: 3,4,5 / rack3: 6,7,8 → 0,3,6,1,4,7,2,5,8.
 */
export function rackAlternatedBrokerList(rackOf: ReadonlyMap<number, string>): number[] {
  const byRack = new Map<string, number[]>();
  for (const [id, rack] of rackOf) byRack.set(rack, [...(byRack.get(rack) ?? []), id]);
  const racks = [...byRack.keys()].sort();
  const queues = racks.map((r) => byRack.get(r)!.sort((a, b) => a - b));
  const out: number[] = [];
  for (let round = 0; out.length < rackOf.size; round++) {
    for (const q of queues) if (round < q.length) out.push(q[round]);
  }
  return out;
}

/** A new topic id from a fresh ULID (the runtime's ids.ulid()): its 16 bytes as 32 lowercase hex digits (Kafka's topic UUID on the wire). */
export function newTopicId(ulid: string): string {
  return ulidToUUID(ulid).replaceAll('-', '').toLowerCase();
}

function validate(partitions: number, replicationFactor: number, brokers: number): void {
  if (!Number.isInteger(partitions) || partitions <= 0) throw new InvalidPartitionsError(partitions);
  if (!Number.isInteger(replicationFactor) || replicationFactor <= 0 || replicationFactor > brokers) {
    throw new InvalidReplicationFactorError(replicationFactor, brokers);
  }
}

function startOf(startIndex: number, n: number): number {
  return mod(Math.trunc(startIndex), n);
}

/**
 * The j-th follower candidate of the leader at `first` (Kafka's AdminUtils.replicaIndex):
 * 1 + (...) mod (n - 1) is never 0 or n, so a candidate is never the leader, and n - 1 consecutive j give
 * the n - 1 other brokers.
 */
function followerIndex(first: number, shift: number, j: number, n: number): number {
  return (first + 1 + ((shift + j) % (n - 1))) % n;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
