// DescribeProducers (KIP-664): per partition, the producers the leader's producer state holds (the ones whose
// batches are in the log): id, epoch, last sequence and timestamp, the coordinator epoch of the last marker,
// and the first offset of the open transaction (-1: none) — what an operator needs to find a hanging
// transaction. Only the leader answers, as Kafka's Partition.activeProducerState: a follower's state may lag,
// so it is NOT_LEADER_OR_FOLLOWER there; a partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION.
import type { DescribeProducersRequest, DescribeProducersResponse, PartitionResponse } from '../../protocol/generated/describe-producers.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { errorCodeOf, KafkaError } from '../kafka-error.ts';
import { localReplica } from './local-replica.ts';

function describePartition(svc: BrokerServices, topic: string, partitionIndex: number): PartitionResponse {
  try {
    const replica = localReplica(svc, topic, partitionIndex);
    if (replica.role !== 'leader') {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${svc.brokerId} does not lead ${topic}-${partitionIndex}`, { topic, partition: partitionIndex });
    }
    const table = replica.producers.table;
    const activeProducers = table
      .entries()
      .sort((a, b) => a.producerId - b.producerId)
      .map((e) => {
        const last = e.batches[e.batches.length - 1];
        return {
          producerId: BigInt(e.producerId),
          producerEpoch: e.epoch,
          lastSequence: last?.lastSeq ?? -1,
          lastTimestamp: BigInt(e.lastTimestamp),
          coordinatorEpoch: e.coordinatorEpoch,
          currentTxnStartOffset: BigInt(table.openTransaction(e.producerId) ?? -1),
        };
      });
    return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
  } catch (err) {
    if (!(err instanceof KafkaError)) svc.logger.error('describe producers failed', { topic, partition: partitionIndex, error: err as Error });
    return { partitionIndex, errorCode: errorCodeOf(err), errorMessage: (err as Error).message ?? null, activeProducers: [] };
  }
}

export function describeProducers(svc: BrokerServices, req: DescribeProducersRequest): DescribeProducersResponse {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => describePartition(svc, t.name, p)) })),
  };
}
