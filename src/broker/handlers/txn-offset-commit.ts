// TxnOffsetCommit v0-3 (KIP-98): a transactional producer commits a consumer group's offsets as part of its
// transaction. The coordinator writes them as one transactional batch of the producer to the group's
// __consumer_offsets partition (acks=all; the partition checks the producer epoch, INVALID_PRODUCER_EPOCH for
// a stale one) and holds them pending: OffsetFetch sees them only once the transaction's COMMIT marker lands
// there, and never after an ABORT. v3 (KIP-447) carries the consumer's generation and member id so a zombie of
// an old generation is fenced; Kafka's doTxnCommitOffsets checks them only when given, unlike OffsetCommit: a
// member id that is not a member is UNKNOWN_MEMBER_ID, a generation other than the group's ILLEGAL_GENERATION,
// a static member's old incarnation FENCED_INSTANCE_ID. Per partition: an unknown topic or partition, or
// metadata over offset.metadata.max.bytes, fails alone.
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../protocol/generated/txn-offset-commit.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { GroupActor } from '../../group/group-actor.ts';
import { isStaticMemberFenced } from '../../group/group-rules.ts';
import { commitAnswer, offsetsToCommit, routeGroup } from './offsets-to-commit.ts';

interface TxnCommitter {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

/** Kafka's GroupCoordinator.doTxnCommitOffsets checks; an unknown group is a new Empty one. */
function txnCommitErrorFor(group: GroupActor | undefined, c: TxnCommitter): number {
  if (!group) {
    if (c.memberId !== '') return ErrorCode.UNKNOWN_MEMBER_ID;
    return c.generationId >= 0 ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.NONE;
  }
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const ctx = group.context;
  if (isStaticMemberFenced(ctx, c.memberId, c.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
  if (c.memberId !== '' && !ctx.members[c.memberId]) return ErrorCode.UNKNOWN_MEMBER_ID;
  if (c.generationId >= 0 && c.generationId !== ctx.generationId) return ErrorCode.ILLEGAL_GENERATION;
  return ErrorCode.NONE;
}

export async function txnOffsetCommit(svc: BrokerServices, req: TxnOffsetCommitRequest, version: number): Promise<TxnOffsetCommitResponse> {
  const refused = new Map<string, number>();
  const respond = (outcome: number): TxnOffsetCommitResponse => ({ throttleTimeMs: 0, topics: commitAnswer(req.topics, refused, outcome) });
  const routed = routeGroup(svc, req.groupId);
  if (!routed.shard) return respond(routed.errorCode);
  const shard = routed.shard;
  const group = shard.group(req.groupId);
  const committer: TxnCommitter =
    version >= 3 ? { generationId: req.generationId ?? -1, memberId: req.memberId ?? '', groupInstanceId: req.groupInstanceId ?? null } : { generationId: -1, memberId: '', groupInstanceId: null };
  const check = txnCommitErrorFor(group, committer);
  if (check !== ErrorCode.NONE) return respond(check);

  const commits = offsetsToCommit(svc, req.topics, refused);
  if (commits.length === 0) return respond(ErrorCode.NONE);
  // A group known only through a transaction's offsets is an Empty group, as Kafka's addGroup here.
  if (!group) shard.getOrCreateGroup(req.groupId);
  return respond(await shard.commitTxn(req.groupId, Number(req.producerId), req.producerEpoch, commits));
}
