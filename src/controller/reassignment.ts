// Partition reassignment (Kafka's AlterPartitionReassignments, KIP-455), as the active controller decides it.
// All the state is in the partition's metadata, so a controller that takes over midway carries on:
// - Starting: the original replicas (the current set minus any ongoing reassignment's additions) and the
//   target give replicas = target followed by the originals leaving, addingReplicas = target − original and
//   removingReplicas = original − target. Every broker the union names opens a replica (the partition
//   registry), the new ones follow the leader, catch up and join the ISR through the leader's normal ISR
//   expansion (AlterPartition).
// - Completing (checked on every metadata change, completeReassignment): once every target replica is in the
//   ISR, replicas = target, ISR = ISR ∩ target; a leader being removed hands over to the first target replica
//   in the ISR that may lead, in a new leader epoch. The removed brokers no longer find the partition in their
//   assignment: they stop the replica and delete its log.
// - Cancelling (null replicas) reverts to the originals: replicas and ISR lose the members being added, and a
//   leader among them hands over to an original in the ISR, as Kafka's PartitionReassignmentRevert.
// A target equal to the current set with nothing ongoing changes nothing; a target whose additions are
// already in the ISR (a pure shrink or reordering) completes at once.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { PartitionState } from '../metadata/types.ts';
import { electPartition, type ElectionView } from './partition-election.ts';
import { parseTopicPartitions, type PartitionOutcome, type TopicPartitionRef } from './elect-leaders.ts';

export interface ReassignmentTarget extends TopicPartitionRef {
  /** null: cancel the ongoing reassignment. */
  replicas: number[] | null;
}

export interface ReassignPartitionsRequest {
  partitions: ReassignmentTarget[];
}

export interface ReassignPartitionsResponse {
  errorCode: number;
  results?: PartitionOutcome[];
  /** The metadata revision that shows the change: the asking broker waits for it before answering. */
  revision?: number;
}

export type ReassignDecision = { errorCode: 0; next: PartitionState | null } | { errorCode: number; errorMessage: string };

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

export function parseReassignPartitionsRequest(v: unknown): ReassignPartitionsRequest | null {
  if (typeof v !== 'object' || v === null) return null;
  const list = (v as Record<string, unknown>).partitions;
  const refs = parseTopicPartitions(list);
  if (!refs) return null;
  const partitions: ReassignmentTarget[] = [];
  for (const [i, ref] of refs.entries()) {
    const replicas = ((list as unknown[])[i] as Record<string, unknown>).replicas;
    if (replicas !== null && !(Array.isArray(replicas) && replicas.every(isInt))) return null;
    partitions.push({ ...ref, replicas: replicas as number[] | null });
  }
  return { partitions };
}

export function isReassigning(p: PartitionState): boolean {
  return (p.addingReplicas?.length ?? 0) > 0 || (p.removingReplicas?.length ?? 0) > 0;
}

/** The replica set before the ongoing reassignment (the current one when none is ongoing). */
export function originalReplicas(p: PartitionState): number[] {
  const adding = p.addingReplicas ?? [];
  return p.replicas.filter((r) => !adding.includes(r));
}

/** The set the ongoing reassignment moves to (the current one when none is ongoing). */
export function targetReplicas(p: PartitionState): number[] {
  const removing = p.removingReplicas ?? [];
  return p.replicas.filter((r) => !removing.includes(r));
}

/**
 * The partition after an operator's AlterPartitionReassignments entry; `next: null` when nothing changes.
 * `registered` is every registered broker (a target naming another is INVALID_REPLICA_ASSIGNMENT, as Kafka).
 */
export function decideReassignment(p: PartitionState, target: number[] | null, registered: ReadonlySet<number>, view: ElectionView): ReassignDecision {
  if (target === null) {
    if (!isReassigning(p)) return { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: `no reassignment of partition ${p.partition} is in progress` };
    return revert(p, view);
  }
  if (target.length === 0) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'the target replica set is empty' };
  if (new Set(target).size !== target.length) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `the target replica set ${target.join(',')} names a broker twice` };
  const unknown = target.find((b) => !registered.has(b));
  if (unknown !== undefined) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `the target replica set includes broker ${unknown}, but no such broker is registered` };
  const original = originalReplicas(p);
  if (sameList(target, original)) return isReassigning(p) ? revert(p, view) : { errorCode: 0, next: null };
  const adding = target.filter((b) => !original.includes(b));
  const removing = original.filter((b) => !target.includes(b));
  // Only an order change (the preferred leader): nothing moves, and it is done at once.
  if (adding.length === 0 && removing.length === 0) return { errorCode: 0, next: { partition: p.partition, replicas: [...target], leader: p.leader, leaderEpoch: p.leaderEpoch, isr: p.isr } };
  const replicas = [...target, ...removing];
  const started: PartitionState = { ...p, replicas, isr: p.isr.filter((b) => replicas.includes(b)), addingReplicas: adding, removingReplicas: removing };
  const next = keepLeaderInReplicas(started, p, view);
  if (next.isr.length === 0) return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'no in-sync replica would be left' };
  return { errorCode: 0, next: completeReassignment(next, view) ?? next };
}

/**
 * Finishes the ongoing reassignment once every target replica is in the ISR; null while it cannot (or none
 * is ongoing). A leader being removed hands over to a target replica in the ISR; while none may lead yet, the
 * reassignment waits.
 */
export function completeReassignment(p: PartitionState, view: ElectionView): PartitionState | null {
  if (!isReassigning(p)) return null;
  const target = targetReplicas(p);
  if (!target.every((b) => p.isr.includes(b))) return null;
  const isr = p.isr.filter((b) => target.includes(b));
  const done: PartitionState = { partition: p.partition, replicas: target, leader: p.leader, leaderEpoch: p.leaderEpoch, isr };
  if (target.includes(p.leader)) return done;
  const leader = target.find((b) => isr.includes(b) && view.eligible.has(b));
  if (leader === undefined) return null;
  return { ...done, leader, leaderEpoch: p.leaderEpoch + 1 };
}

/** The controller's pass over a partition: its own election (electPartition), then a reassignment's completion. */
export function reconcilePartition(p: PartitionState, view: ElectionView): PartitionState | null {
  const elected = electPartition(p, view);
  return completeReassignment(elected ?? p, view) ?? elected;
}

function revert(p: PartitionState, view: ElectionView): ReassignDecision {
  const adding = p.addingReplicas ?? [];
  const replicas = originalReplicas(p);
  const isr = p.isr.filter((b) => !adding.includes(b));
  if (isr.length === 0) return { errorCode: ErrorCode.REASSIGNMENT_IN_PROGRESS, errorMessage: 'every in-sync replica is one being added: cancelling would leave none' };
  const reverted: PartitionState = { partition: p.partition, replicas, leader: p.leader, leaderEpoch: p.leaderEpoch, isr };
  return { errorCode: 0, next: keepLeaderInReplicas(reverted, p, view) };
}

/** A leader the new replica set leaves out hands over to the first replica in the ISR that may lead (or none). */
function keepLeaderInReplicas(next: PartitionState, before: PartitionState, view: ElectionView): PartitionState {
  if (next.leader === -1 || next.replicas.includes(next.leader)) return next;
  const leader = next.replicas.find((b) => next.isr.includes(b) && view.eligible.has(b)) ?? -1;
  return { ...next, leader, leaderEpoch: before.leaderEpoch + 1 };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
