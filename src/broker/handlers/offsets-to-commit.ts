// What OffsetCommit and TxnOffsetCommit share: finding the group's coordinator shard, the per-partition checks
// of the offsets a request carries — an unknown topic or partition (UNKNOWN_TOPIC_OR_PARTITION) or metadata
// over offset.metadata.max.bytes (OFFSET_METADATA_TOO_LARGE) fails alone, as Kafka's GroupCoordinator checks
// them — and the per-partition answer, where the partitions not refused alone carry the request's outcome.
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { OffsetCommitEntry } from '../../group/coordinator-shard.ts';
import type { Routed } from '../../group/group-coordinator.ts';
import { topicPartitionKey } from '../../group/offsets-loader.ts';

/** A topic of an OffsetCommit or TxnOffsetCommit request, in the fields both carry. */
export interface CommitRequestTopic {
  name: string;
  partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch?: number; committedMetadata: string | null }>;
}

/** The shard coordinating the group here, or the error every partition is answered with. */
export function routeGroup(svc: BrokerServices, groupId: string): Routed {
  return svc.groups ? svc.groups.route(groupId) : { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
}

/** The partitions that pass the checks, as commits stamped `now`; the others' codes go into `refused`. */
export function offsetsToCommit(svc: BrokerServices, topics: readonly CommitRequestTopic[], refused: Map<string, number>): OffsetCommitEntry[] {
  const snapshot = svc.metadata.snapshot();
  const maxMetadataBytes = svc.groups?.settings.maxMetadataBytes ?? Infinity;
  const now = svc.clock.wall();
  const commits: OffsetCommitEntry[] = [];
  for (const t of topics) {
    const topic = snapshot.topics[t.name];
    for (const p of t.partitions) {
      const key = topicPartitionKey(t.name, p.partitionIndex);
      if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions.length) refused.set(key, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > maxMetadataBytes) refused.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
      else {
        commits.push({
          topic: t.name,
          partition: p.partitionIndex,
          value: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata ?? '', commitTimestamp: now },
        });
      }
    }
  }
  return commits;
}

/** Each requested partition's code: its own refusal, else `outcome`. */
export function commitAnswer(topics: readonly CommitRequestTopic[], refused: ReadonlyMap<string, number>, outcome: number) {
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: refused.get(topicPartitionKey(t.name, p.partitionIndex)) ?? outcome })),
  }));
}
