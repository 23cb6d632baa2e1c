// JoinGroup: one event to the group's actor, answered when the rebalance completes (the leader receives
// every member's metadata). KIP-394 on v4+: a first join without member id gets MEMBER_ID_REQUIRED with the
// id to use. Member ids are `<client.id>-<ULID>`, as Kafka's `<client.id>-<UUID>`. Session timeouts outside
// group.min/max.session.timeout.ms are INVALID_SESSION_TIMEOUT; v0 has no rebalance timeout (it is the session timeout).
import type { JoinGroupRequest, JoinGroupResponse } from '../../protocol/generated/join-group.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';

export async function joinGroup(svc: BrokerServices, req: JoinGroupRequest, ctx: RequestContext): Promise<JoinGroupResponse> {
  const v = ctx.apiVersion;
  const fail = (errorCode: number, memberId = req.memberId): JoinGroupResponse => ({
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: v >= 7 ? null : '',
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  });
  const groups = svc.groups;
  if (!groups) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const { minSessionTimeoutMs, maxSessionTimeoutMs } = groups.settings;
  if (req.sessionTimeoutMs < minSessionTimeoutMs || req.sessionTimeoutMs > maxSessionTimeoutMs) return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
  const routed = groups.route(req.groupId);
  if (!routed.shard) return fail(routed.errorCode);
  if (req.memberId !== '' && !routed.shard.group(req.groupId)) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
  const clientId = ctx.clientId ?? '';
  const reply = await routed.shard.getOrCreateGroup(req.groupId).request({
    type: 'JOIN',
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    clientId,
    clientHost: `/${ctx.conn.remote.replace(/:\d+$/, '')}`,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: v >= 1 && (req.rebalanceTimeoutMs ?? -1) > 0 ? req.rebalanceTimeoutMs! : req.sessionTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    requireKnownMemberId: v >= 4,
    newMemberId: `${clientId}-${svc.ids.ulid()}`,
  });
  if (!reply || reply.kind !== 'join') return fail(ErrorCode.NOT_COORDINATOR);
  return {
    throttleTimeMs: 0,
    errorCode: reply.errorCode,
    generationId: reply.generationId,
    protocolType: reply.protocolType,
    protocolName: v >= 7 ? reply.protocolName : (reply.protocolName ?? ''),
    leader: reply.leader,
    skipAssignment: false,
    memberId: reply.memberId,
    members: reply.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
}
