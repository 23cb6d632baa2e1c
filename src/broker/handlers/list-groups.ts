// ListGroups: the groups this broker coordinates (a client asks every broker and merges, as Kafka's admin
// does), with their state (v4, KIP-518) and type (v5, KIP-848), filtered by states and by types when asked.
// As Kafka's GroupMetadataManager.listGroups, both filters are case-insensitive and a type Kafka does not know
// matches no group. Kastor's groups are all of the classic protocol (JoinGroup/SyncGroup): type "classic".
import type { ListGroupsRequest, ListGroupsResponse } from '../../protocol/generated/list-groups.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';

const CLASSIC = 'classic';

export function listGroups(svc: BrokerServices, req: ListGroupsRequest): ListGroupsResponse {
  const groups = svc.groups;
  if (!groups) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
  const states = new Set((req.statesFilter ?? []).map((s) => s.trim().toLowerCase()));
  const types = new Set((req.typesFilter ?? []).map((t) => t.trim().toLowerCase()));
  if (types.size > 0 && !types.has(CLASSIC)) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [] };
  const out: ListGroupsResponse['groups'] = [];
  for (const shard of groups.loadedShards()) {
    for (const g of shard.groups.values()) {
      const state = g.state;
      if (state === 'Dead') continue;
      if (states.size > 0 && !states.has(state.toLowerCase())) continue;
      out.push({ groupId: g.groupId, protocolType: g.context.protocolType ?? '', groupState: state, groupType: CLASSIC });
    }
  }
  out.sort((a, b) => a.groupId.localeCompare(b.groupId));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: out };
}
