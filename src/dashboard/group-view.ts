// Consumer groups as the dashboard shows them, read from this broker's group coordinator: the groups of
// the __consumer_offsets partitions it leads, each an actor (`group-<id>@broker-N`) with its state,
// generation and members, and the committed offsets the coordinator caches, from which the cluster view
// works out lag (high watermark − committed). Read-only: nothing here touches the coordinator's work.
import type { GroupCoordinator } from '../group/group-coordinator.ts';
import type { LiveActor } from '../inspect/inspection-hub.ts';
import type { GroupSummary } from '../inspect/actor-directory.ts';

export function groupActors(brokerId: number, coordinator: GroupCoordinator | undefined): LiveActor[] {
  if (!coordinator) return [];
  const out: LiveActor[] = [];
  for (const shard of coordinator.loadedShards()) {
    for (const [groupId, g] of shard.groups) out.push({ systemId: `group-${groupId}@broker-${brokerId}`, kind: 'group', actor: g.actor });
  }
  return out;
}

export function groupSummaries(coordinator: GroupCoordinator | undefined): GroupSummary[] {
  if (!coordinator) return [];
  const out: GroupSummary[] = [];
  for (const shard of coordinator.loadedShards()) {
    for (const [groupId, g] of shard.groups) {
      const ctx = g.context;
      const offsets = [...(shard.offsets.get(groupId)?.entries() ?? [])].map(([key, committed]) => {
        const cut = key.lastIndexOf('\u0000');
        return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)), committed: Number(committed.offset) };
      });
      out.push({ groupId, state: g.state, generation: ctx.generationId, members: Object.keys(ctx.members).length, offsets });
    }
  }
  return out;
}
