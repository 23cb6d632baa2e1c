// LeaveGroup: v0-2 name one member and carry its error at the top level; v3+ (KIP-345) carry a batch of
// member identities, each with its own error, and the top-level error is for the request as a whole.
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../protocol/generated/leave-group.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

export async function leaveGroup(svc: BrokerServices, req: LeaveGroupRequest, version: number): Promise<LeaveGroupResponse> {
  const identities = version >= 3 ? (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: req.memberId ?? '', groupInstanceId: null }];
  const fail = (errorCode: number): LeaveGroupResponse => ({ throttleTimeMs: 0, errorCode, members: [] });
  const groups = svc.groups;
  if (!groups) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const routed = groups.route(req.groupId);
  if (!routed.shard) return fail(routed.errorCode);
  const group = routed.shard.group(req.groupId);
  if (!group) {
    if (version < 3) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, members: identities.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
  }
  const reply = await group.request({ type: 'LEAVE', members: identities });
  if (!reply || reply.kind !== 'leave') return fail(ErrorCode.NOT_COORDINATOR);
  if (version < 3) return fail(reply.members[0]?.errorCode ?? ErrorCode.NONE);
  return { throttleTimeMs: 0, errorCode: reply.errorCode, members: reply.members };
}
