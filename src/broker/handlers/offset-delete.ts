// OffsetDelete (KIP-496): removes committed offsets of a group with tombstones. Refused per partition with
// GROUP_SUBSCRIBED_TO_TOPIC while a live consumer group subscribes to the topic; GROUP_ID_NOT_FOUND for a
// group this coordinator does not know.
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../protocol/generated/offset-delete.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { decodeSubscription } from '../../group/consumer-protocol.ts';
import { metadataFor } from '../../group/group-rules.ts';

export async function offsetDelete(svc: BrokerServices, req: OffsetDeleteRequest): Promise<OffsetDeleteResponse> {
  const whole = (errorCode: number): OffsetDeleteResponse => ({ errorCode, throttleTimeMs: 0, topics: [] });
  const groups = svc.groups;
  if (!groups) return whole(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  const routed = groups.route(req.groupId);
  if (!routed.shard) return whole(routed.errorCode);
  const group = routed.shard.group(req.groupId);
  if (!group) return whole(ErrorCode.GROUP_ID_NOT_FOUND);
  const subscribed = new Set<string>();
  const ctx = group.context;
  if (group.state !== 'Empty' && ctx.protocolType === 'consumer') {
    for (const m of Object.values(ctx.members)) for (const t of decodeSubscription(metadataFor(m, ctx.protocolName))?.topics ?? []) subscribed.add(t);
  }
  const deletable = req.topics.filter((t) => !subscribed.has(t.name)).flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
  const code = deletable.length > 0 ? await routed.shard.deleteOffsets(req.groupId, deletable) : ErrorCode.NONE;
  return {
    errorCode: ErrorCode.NONE,
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: subscribed.has(t.name) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : code })),
    })),
  };
}
