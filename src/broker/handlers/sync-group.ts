// SyncGroup: the leader brings every member's assignment, followers wait for theirs (Kafka's
// CompletingRebalance); in Stable each member gets its current assignment again. A SyncGroup for an older
// generation gets ILLEGAL_GENERATION, one during a new rebalance REBALANCE_IN_PROGRESS (the machine decides).
import type { SyncGroupRequest, SyncGroupResponse } from '../../protocol/generated/sync-group.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

const EMPTY = Buffer.alloc(0);

export async function syncGroup(svc: BrokerServices, req: SyncGroupRequest): Promise<SyncGroupResponse> {
  const fail = (errorCode: number): SyncGroupResponse => ({ throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
  const groups = svc.groups;
  if (!groups) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const routed = groups.route(req.groupId);
  if (!routed.shard) return fail(routed.errorCode);
  const group = routed.shard.group(req.groupId);
  if (!group) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
  const reply = await group.request({
    type: 'SYNC',
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    generationId: req.generationId,
    protocolType: req.protocolType ?? null,
    protocolName: req.protocolName ?? null,
    assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
  });
  if (!reply || reply.kind !== 'sync') return fail(ErrorCode.NOT_COORDINATOR);
  return { throttleTimeMs: 0, errorCode: reply.errorCode, protocolType: reply.protocolType, protocolName: reply.protocolName, assignment: reply.assignment };
}
