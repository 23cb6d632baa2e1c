// DescribeGroups: state, protocol and members of each group this broker coordinates. As Kafka does, member
// metadata and assignments are shown only in Stable (elsewhere they are in flux), and an unknown group is
// described as Dead with no error (v0-5). KIP-430: asked for (v3+), a group answered without an error has all
// its authorized operations, as Kafka answers without an authorizer (the DescribeGroups gate puts the
// principal's own in their place).
import type { DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup } from '../../protocol/generated/describe-groups.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { metadataFor } from '../../group/group-rules.ts';
import { allOperations, OPERATIONS_NOT_REQUESTED as NO_OPERATIONS } from '../../security/authorized-operations.ts';

const EMPTY = Buffer.alloc(0);

function describeOne(svc: BrokerServices, groupId: string): DescribedGroup {
  const blank = (errorCode: number, groupState: string): DescribedGroup => ({ errorCode, groupId, groupState, protocolType: '', protocolData: '', members: [], authorizedOperations: NO_OPERATIONS });
  const groups = svc.groups;
  if (!groups) return blank(ErrorCode.COORDINATOR_NOT_AVAILABLE, '');
  const routed = groups.route(groupId);
  if (!routed.shard) return blank(routed.errorCode, '');
  const group = routed.shard.group(groupId);
  if (!group) return blank(ErrorCode.NONE, 'Dead');
  const state = group.state;
  const ctx = group.context;
  const stable = state === 'Stable';
  return {
    errorCode: ErrorCode.NONE,
    groupId,
    groupState: state,
    protocolType: ctx.protocolType ?? '',
    protocolData: stable ? (ctx.protocolName ?? '') : '',
    members: Object.values(ctx.members).map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: stable ? metadataFor(m, ctx.protocolName) : EMPTY,
      memberAssignment: stable ? m.assignment : EMPTY,
    })),
    authorizedOperations: NO_OPERATIONS,
  };
}

export function describeGroups(svc: BrokerServices, req: DescribeGroupsRequest): DescribeGroupsResponse {
  const groups = req.groups.map((g) => describeOne(svc, g));
  if (!req.includeAuthorizedOperations) return { throttleTimeMs: 0, groups };
  return { throttleTimeMs: 0, groups: groups.map((g) => (g.errorCode === ErrorCode.NONE ? { ...g, authorizedOperations: allOperations('Group') } : g)) };
}
