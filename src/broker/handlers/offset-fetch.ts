// OffsetFetch: v1-7 ask for one group, v8 (KIP-709) for several. A partition never committed is offset -1
// with no error (clients then apply auto.offset.reset); topics null (v2+) = every partition the group has
// committed. Coordinator errors are the group's error (v2+) and each partition's (v1 has no top-level code).
// requireStable (v7+, KIP-447): a partition for which a transaction holds an offset not yet committed or aborted
// answers UNSTABLE_OFFSET_COMMIT (retriable), so a consumer does not start from an offset about to change.
import type { OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponsePartitions } from '../../protocol/generated/offset-fetch.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { splitTopicPartitionKey, topicPartitionKey } from '../../group/offsets-loader.ts';

interface GroupOffsets {
  errorCode: number;
  topics: Array<{ name: string; partitions: OffsetFetchResponsePartitions[] }>;
}

function fetchGroup(svc: BrokerServices, groupId: string, wanted: Array<{ name: string; partitionIndexes: number[] }> | null, requireStable: boolean): GroupOffsets {
  const none = (partitionIndex: number, errorCode: number): OffsetFetchResponsePartitions => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode });
  const failed = (errorCode: number): GroupOffsets => ({ errorCode, topics: (wanted ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => none(p, errorCode)) })) });
  const groups = svc.groups;
  if (!groups) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const routed = groups.route(groupId);
  if (!routed.shard) return failed(routed.errorCode);
  const shard = routed.shard;
  const committed = shard.offsets.get(groupId);
  const answer = (topic: string, partition: number): OffsetFetchResponsePartitions => {
    if (requireStable && shard.hasPendingTxnOffset(groupId, topic, partition)) return none(partition, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    const c = committed?.get(topicPartitionKey(topic, partition));
    if (!c) return none(partition, ErrorCode.NONE);
    return { partitionIndex: partition, committedOffset: c.offset, committedLeaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: ErrorCode.NONE };
  };
  if (wanted) return { errorCode: ErrorCode.NONE, topics: wanted.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => answer(t.name, p)) })) };
  const byTopic = new Map<string, OffsetFetchResponsePartitions[]>();
  for (const key of committed?.keys() ?? []) {
    const { topic, partition } = splitTopicPartitionKey(key);
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    byTopic.get(topic)!.push(answer(topic, partition));
  }
  return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) })) };
}

export function offsetFetch(svc: BrokerServices, req: OffsetFetchRequest, version: number): OffsetFetchResponse {
  if (version >= 8) {
    return {
      throttleTimeMs: 0,
      groups: (req.groups ?? []).map((g) => {
        const r = fetchGroup(svc, g.groupId, g.topics, req.requireStable ?? false);
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
      }),
    };
  }
  const r = fetchGroup(svc, req.groupId ?? '', req.topics ?? null, req.requireStable ?? false);
  return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
}
