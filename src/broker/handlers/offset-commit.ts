// OffsetCommit v2-8: committed offsets become records of the group's __consumer_offsets partition, written
// with acks=all, and visible to OffsetFetch once replicated. Kafka's checks: a commit from an older
// generation is ILLEGAL_GENERATION, from a non-member UNKNOWN_MEMBER_ID, while the leader's assignment is
// outstanding REBALANCE_IN_PROGRESS; a simple consumer (generation -1, empty member id) may commit to an
// Empty or unknown group. Per partition: an unknown topic or partition, or metadata over
// offset.metadata.max.bytes, fails alone; the rest are written in one batch.
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/generated/offset-commit.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { commitErrorFor } from '../../group/group-rules.ts';
import type { CommittedOffset } from '../../group/offsets-record-format.ts';

export async function offsetCommit(svc: BrokerServices, req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
  const codes = new Map<string, number>();
  const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;
  const respond = (fallback: number): OffsetCommitResponse => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes.get(keyOf(t.name, p.partitionIndex)) ?? fallback })) })),
  });
  const groups = svc.groups;
  if (!groups) return respond(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const routed = groups.route(req.groupId);
  if (!routed.shard) return respond(routed.errorCode);
  const shard = routed.shard;
  const group = shard.group(req.groupId);
  const check = commitErrorFor(group ? group.state : null, group ? group.context : null, {
    memberId: req.memberId,
    generationId: req.generationIdOrMemberEpoch,
    groupInstanceId: req.groupInstanceId ?? null,
  });
  if (check !== ErrorCode.NONE) return respond(check);

  const snapshot = svc.metadata.snapshot();
  const now = svc.clock.wall();
  const commits: Array<{ topic: string; partition: number; value: CommittedOffset }> = [];
  for (const t of req.topics) {
    const topic = snapshot.topics[t.name];
    for (const p of t.partitions) {
      const key = keyOf(t.name, p.partitionIndex);
      if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions.length) codes.set(key, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > groups.settings.maxMetadataBytes) codes.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
      else {
        commits.push({
          topic: t.name,
          partition: p.partitionIndex,
          value: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata ?? '', commitTimestamp: now },
        });
      }
    }
  }
  if (commits.length === 0) return respond(ErrorCode.NONE);
  // A simple consumer's first commit creates the (Empty) group, as Kafka does.
  if (!group) shard.getOrCreateGroup(req.groupId);
  return respond(await shard.commit(req.groupId, commits));
}
