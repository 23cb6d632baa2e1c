// DeleteGroups: only an Empty group may be deleted (NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND for none);
// the group goes Dead in its machine first, so no join can slip in, then tombstones for its metadata and
// every committed offset are written to __consumer_offsets.
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/generated/delete-groups.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

async function deleteOne(svc: BrokerServices, groupId: string): Promise<number> {
  const groups = svc.groups;
  if (!groups) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const routed = groups.route(groupId);
  if (!routed.shard) return routed.errorCode;
  const group = routed.shard.group(groupId);
  if (!group) return ErrorCode.GROUP_ID_NOT_FOUND;
  const reply = await group.request({ type: 'DELETE' });
  if (!reply) return ErrorCode.GROUP_ID_NOT_FOUND;
  if (reply.errorCode !== ErrorCode.NONE) return reply.errorCode;
  return routed.shard.deleteOffsets(groupId, 'all');
}

export async function deleteGroups(svc: BrokerServices, req: DeleteGroupsRequest): Promise<DeleteGroupsResponse> {
  const results = await Promise.all(req.groupsNames.map(async (groupId) => ({ groupId, errorCode: await deleteOne(svc, groupId) })));
  return { throttleTimeMs: 0, results };
}
