// Heartbeat: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin (KafkaJS relies on
// it), ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID that it is no longer part of the group.
import type { HeartbeatRequest, HeartbeatResponse } from '../../protocol/generated/heartbeat.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

export async function heartbeat(svc: BrokerServices, req: HeartbeatRequest): Promise<HeartbeatResponse> {
  const groups = svc.groups;
  if (!groups) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  const routed = groups.route(req.groupId);
  if (!routed.shard) return { throttleTimeMs: 0, errorCode: routed.errorCode };
  const group = routed.shard.group(req.groupId);
  if (!group) return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
  const reply = await group.request({ type: 'HEARTBEAT', memberId: req.memberId, groupInstanceId: req.groupInstanceId ?? null, generationId: req.generationId });
  return { throttleTimeMs: 0, errorCode: reply ? reply.errorCode : ErrorCode.NOT_COORDINATOR };
}
