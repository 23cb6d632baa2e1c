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
import { commitAnswer, offsetsToCommit, routeGroup } from './offsets-to-commit.ts';

export async function offsetCommit(svc: BrokerServices, req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
  const refused = new Map<string, number>();
  const respond = (outcome: number): OffsetCommitResponse => ({ throttleTimeMs: 0, topics: commitAnswer(req.topics, refused, outcome) });
  const routed = routeGroup(svc, req.groupId);
  if (!routed.shard) return respond(routed.errorCode);
  const shard = routed.shard;
  const group = shard.group(req.groupId);
  const check = commitErrorFor(group ? group.state : null, group ? group.context : null, {
    memberId: req.memberId,
    generationId: req.generationIdOrMemberEpoch,
    groupInstanceId: req.groupInstanceId ?? null,
  });
  if (check !== ErrorCode.NONE) return respond(check);

  const commits = offsetsToCommit(svc, req.topics, refused);
  if (commits.length === 0) return respond(ErrorCode.NONE);
  // A simple consumer's first commit creates the (Empty) group, as Kafka does.
  if (!group) shard.getOrCreateGroup(req.groupId);
  return respond(await shard.commit(req.groupId, commits));
}
