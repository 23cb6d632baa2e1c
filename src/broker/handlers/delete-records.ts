// DeleteRecords (KIP-107): per partition, the leader moves the log start offset up to the requested offset
// (-1: the high watermark; never past it: OFFSET_OUT_OF_RANGE), checkpointed before the answer, deleting
// whole segments below it. The answer for a partition waits (Kafka's DelayedDeleteRecords, within
// timeout_ms, else REQUEST_TIMED_OUT) until every in-sync replica's log start reached it, and reports that
// low watermark. A topic whose cleanup.policy lacks `delete` is refused with POLICY_VIOLATION, as Kafka's
// Partition.deleteRecordsOnLeader; a partition that does not exist gets UNKNOWN_TOPIC_OR_PARTITION, one this
// broker does not lead NOT_LEADER_OR_FOLLOWER (the client looks for the leader and retries).
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../../protocol/generated/delete-records.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { errorCodeOf, KafkaError } from '../kafka-error.ts';
import { topicSettings } from '../../metadata/topic-config.ts';
import { localReplica } from './local-replica.ts';
import { topicOverridesOf } from '../log-cleaner-manager.ts';

export async function deleteRecords(svc: BrokerServices, req: DeleteRecordsRequest): Promise<DeleteRecordsResponse> {
  const timeoutMs = Math.max(req.timeoutMs, 0);
  const topics = await Promise.all(
    req.topics.map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(
        t.partitions.map(async (p) => {
          try {
            const replica = localReplica(svc, t.name, p.partitionIndex);
            // The effective policy: the topic's own over the broker-level defaults (log.cleanup.policy).
            const settings = topicSettings(topicOverridesOf(svc.metadata.snapshot(), t.name, svc.brokerId, svc.config.topicDefaults) ?? {});
            if (!settings.cleanupPolicy.includes('delete')) {
              throw new KafkaError(ErrorCode.POLICY_VIOLATION, `records of ${t.name} cannot be deleted: its cleanup.policy is ${settings.cleanupPolicy.join(',')}`);
            }
            const lowWatermark = await replica.deleteRecords(Number(p.offset), timeoutMs);
            return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(lowWatermark), errorCode: ErrorCode.NONE };
          } catch (err) {
            if (!(err instanceof KafkaError)) svc.logger.error('delete records failed', { topic: t.name, partition: p.partitionIndex, error: err as Error });
            const lowWatermark = err instanceof KafkaError && typeof err.facts.lowWatermark === 'number' ? err.facts.lowWatermark : -1;
            return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(lowWatermark), errorCode: errorCodeOf(err) };
          }
        }),
      ),
    })),
  );
  return { throttleTimeMs: 0, topics };
}
