// The cluster as the consumer-group tools see it: `kastor groups`' functions (listGroupsOf, describeGroupOf
// in groups-command.ts) over the admin client's connections, and the connection to a group's coordinator.
import type { Cluster as ClientCluster } from '../../client/cluster.ts';
import { KafkaProtocolError } from '../../client/errors.ts';
import { ApiKey } from '../../protocol/generated/api-keys.ts';
import type { listGroupsOf } from '../groups-command.ts';

/** The cluster view listGroupsOf and describeGroupOf take (groups-command.ts's Cluster). */
export type GroupsCluster = Parameters<typeof listGroupsOf>[0];

/**
 * groups-command.ts's functions take its own small Cluster, which that file does not export; this gives them
 * the same public members over the admin client's connections. The cast is for the class's private
 * connection cache, which its functions never touch.
 */
export function groupsView(cluster: ClientCluster): GroupsCluster {
  const leaders = new Map<string, number>();
  const view: { [K in keyof GroupsCluster]: GroupsCluster[K] } = {
    get brokers() {
      return cluster.brokers;
    },
    leaders,
    async refresh() {
      await cluster.withRetry('Metadata', () => cluster.refreshMetadata(null));
      leaders.clear();
      for (const t of cluster.topics.values()) for (const p of t.partitions) leaders.set(`${t.name}\u0000${p.partition}`, p.leader);
    },
    async conn(id: number) {
      return (await cluster.nodeConnection(id)).conn;
    },
    close: () => cluster.close(),
  };
  return view as unknown as GroupsCluster;
}

/** Deletes a group with its committed offsets at its coordinator (DeleteGroups); resolves with the group's error code. */
export async function deleteGroupAt(cluster: ClientCluster, groupId: string): Promise<number> {
  const coordinator = await coordinatorOf(cluster, groupId);
  const res = await coordinator.conn.request(ApiKey.DeleteGroups, 2, { groupsNames: [groupId] });
  return res.results[0]?.errorCode ?? 0;
}

/** The connection to a group's coordinator (FindCoordinator), retried while the coordinator is loading or moving. */
export async function coordinatorOf(cluster: ClientCluster, groupId: string) {
  return cluster.withRetry(`FindCoordinator for ${groupId}`, async () => {
    const found = await (await cluster.anyConnection()).conn.request(ApiKey.FindCoordinator, 3, { key: groupId, keyType: 0 });
    if (found.errorCode) throw new KafkaProtocolError(found.errorCode, { message: found.errorMessage });
    if (!cluster.brokers.has(found.nodeId!)) await cluster.refreshMetadata([]);
    return { nodeId: found.nodeId!, host: found.host!, port: found.port!, conn: (await cluster.nodeConnection(found.nodeId!)).conn };
  });
}
