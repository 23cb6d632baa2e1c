// AddPartitionsToTxn (clients' v0-3): the partitions a transactional producer is about to write join its open
// transaction at the coordinator, which opens it if none is (txn-shard.ts). All or nothing, as Kafka: a topic
// that does not exist fails its partitions with UNKNOWN_TOPIC_OR_PARTITION and the others with
// OPERATION_NOT_ATTEMPTED; otherwise every partition gets the coordinator's answer.
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../../protocol/generated/add-partitions-to-txn.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { forVersion } from '../../txn/txn-errors.ts';

export async function addPartitionsToTxn(svc: BrokerServices, req: AddPartitionsToTxnRequest, apiVersion: number): Promise<AddPartitionsToTxnResponse> {
  const topics = req.v3AndBelowTopics;
  const answer = (codeOf: (topic: string, partition: number) => number): AddPartitionsToTxnResponse => ({
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codeOf(t.name, p) })) })),
  });
  const snapshot = svc.metadata.snapshot();
  const unknown = (topic: string, partition: number) => {
    const t = snapshot.topics[topic];
    return !t || partition < 0 || partition >= t.partitions.length;
  };
  if (topics.some((t) => t.partitions.some((p) => unknown(t.name, p)))) {
    return answer((topic, p) => (unknown(topic, p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED));
  }
  const routed = svc.txn ? svc.txn.route(req.v3AndBelowTransactionalId) : { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
  if (!routed.shard) return answer(() => routed.errorCode);
  const add: Record<string, number[]> = {};
  for (const t of topics) add[t.name] = [...(add[t.name] ?? []), ...t.partitions];
  const code = await routed.shard.addPartitions(req.v3AndBelowTransactionalId, Number(req.v3AndBelowProducerId), req.v3AndBelowProducerEpoch, add);
  return answer(() => forVersion(code, apiVersion, 2));
}
