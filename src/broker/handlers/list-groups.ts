// ListGroups: the groups this broker coordinates (a client asks every broker and merges, as Kafka's admin
// does), with their state (v4, KIP-518) and filtered by states when asked (case-insensitive, as Kafka).
import type { ListGroupsRequest, ListGroupsResponse } from '../../protocol/generated/list-groups.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

export function listGroups(svc: BrokerServices, req: ListGroupsRequest): ListGroupsResponse {
  const groups = svc.groups;
  if (!groups) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
  const filter = new Set((req.statesFilter ?? []).map((s) => s.toLowerCase()));
  const out: ListGroupsResponse['groups'] = [];
  for (const shard of groups.loadedShards()) {
    for (const g of shard.groups.values()) {
      const state = g.state;
      if (state === 'Dead') continue;
      if (filter.size > 0 && !filter.has(state.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.context.protocolType ?? '', groupState: state });
    }
  }
  out.sort((a, b) => a.groupId.localeCompare(b.groupId));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: out };
}
