// KIP-890 part 1 at the partition leader: before a producer's first transactional batch opens a transaction on a
// partition, the leader asks the transaction coordinator whether the partition is in that producer's open
// transaction. A batch that arrives late (after its transaction ended) or without AddPartitionsToTxn is refused
// instead of opening a transaction nobody will ever end (the hanging transaction Jepsen reproduced). The replica
// re-checks under its append lock that no marker for the producer landed while the coordinator was asked.
import type { PartitionReplica, ProduceOptions } from '../broker/partition-replica.ts';
import type { BrokerServices } from '../broker/broker-services.ts';
import { KafkaError } from '../broker/kafka-error.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { BATCH_HEADER_SIZE, readBatchHeader, TRANSACTIONAL_FLAG } from '../protocol/record-batch-layout.ts';

/** The produce options a batch needs: nothing for a non-transactional one, a verification for a transaction's first. */
export async function verifyTransactionalBatch(svc: BrokerServices, transactionalId: string | null | undefined, replica: PartitionReplica, records: Buffer): Promise<ProduceOptions> {
  if (records.length < BATCH_HEADER_SIZE) return {};
  const h = readBatchHeader(records, 0);
  if ((h.attributes & TRANSACTIONAL_FLAG) === 0 || h.producerId < 0) return {};
  if (replica.producers.table.openTransaction(h.producerId) !== null) return {};
  if (!transactionalId) return {}; // the replica refuses it: a transactional batch outside any verified transaction
  if (!svc.txn) throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'this broker runs no transaction coordinator to verify the transaction with');
  const guard = replica.verificationGuard(h.producerId);
  const code = await svc.txn.verify({ transactionalId, producerId: h.producerId, producerEpoch: h.producerEpoch, topic: replica.topic, partition: replica.partition });
  if (code !== ErrorCode.NONE) {
    throw new KafkaError(code, `the transaction of producer ${h.producerId} (transactional id ${transactionalId}) was not verified for ${replica.topic}-${replica.partition}`, {
      topic: replica.topic,
      partition: replica.partition,
      producerId: h.producerId,
    });
  }
  return { verified: guard };
}
