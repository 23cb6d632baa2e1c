// DescribeGroups: state, protocol and members of each group this broker coordinates. As Kafka does, member
// metadata and assignments are shown only in Stable (elsewhere they are in flux), and an unknown group is
// described as Dead with no error (v0-5).
import type { DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup } from '../../protocol/generated/describe-groups.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { metadataFor } from '../../group/group-rules.ts';

const EMPTY = Buffer.alloc(0);
const NO_OPERATIONS = -2147483648;

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
  return { throttleTimeMs: 0, groups: req.groups.map((g) => describeOne(svc, g)) };
}
