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

/**
 * Batches of one producer on one replica waiting for, or queued behind, a verification: the tail of each
 * producer's queue. Keyed by the replica object, so brokers sharing a process never share queues.
 */
const queues = new WeakMap<PartitionReplica, Map<number, { epoch: number; options: Promise<ProduceOptions> }>>();

/**
 * The produce options a batch needs: nothing for a non-transactional one, a verification for a transaction's first.
 * Requests of one connection are handled concurrently, and a client pipelines a transaction's first batches on a
 * partition (up to 5 in flight): while the first is verified, the next ones must not overtake it, or the replica
 * sees sequence 2 before 1 (OUT_OF_ORDER_SEQUENCE_NUMBER, fatal to the producer; librdkafka's 0103 hit it). Kafka
 * keeps them in order by reading one request per connection at a time; here every batch of the producer that
 * arrives while one is being verified is queued behind it and handed back in arrival order, so the handler calls
 * replica.produce (whose append section is FIFO) in that order.
 */
export function verifyTransactionalBatch(svc: BrokerServices, transactionalId: string | null | undefined, replica: PartitionReplica, records: Buffer): Promise<ProduceOptions> {
  if (records.length < BATCH_HEADER_SIZE) return Promise.resolve({});
  const h = readBatchHeader(records, 0);
  if ((h.attributes & TRANSACTIONAL_FLAG) === 0 || h.producerId < 0) return Promise.resolve({});
  let queue = queues.get(replica);
  const before = queue?.get(h.producerId);
  if (before === undefined && replica.producers.table.openTransaction(h.producerId) !== null) return Promise.resolve({});
  if (!queue) queues.set(replica, (queue = new Map()));
  // The handler of the batch ahead awaits the very promise this one waits for, and registered first, so it calls
  // replica.produce before this one resumes.
  const mine = (async (): Promise<ProduceOptions> => {
    const previous = before ? await before.options.catch(() => undefined) : undefined;
    if (replica.producers.table.openTransaction(h.producerId) !== null) return {};
    // The batch ahead of this one, of the same producer epoch, was verified and is being appended: this one is in
    // the same transaction (the guard still voids both if a marker lands meanwhile).
    if (previous?.verified !== undefined && before!.epoch === h.producerEpoch) return previous;
    return verifyFirstBatch(svc, transactionalId, replica, h.producerId, h.producerEpoch);
  })();
  const entry = { epoch: h.producerEpoch, options: mine };
  queue.set(h.producerId, entry);
  const done = () => {
    if (queue!.get(h.producerId) === entry) queue!.delete(h.producerId);
  };
  mine.then(done, done);
  return mine;
}

async function verifyFirstBatch(svc: BrokerServices, transactionalId: string | null | undefined, replica: PartitionReplica, producerId: number, producerEpoch: number): Promise<ProduceOptions> {
  if (!transactionalId) return {}; // the replica refuses it: a transactional batch outside any verified transaction
  if (!svc.txn) throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'this broker runs no transaction coordinator to verify the transaction with');
  const guard = replica.verificationGuard(producerId);
  const code = await svc.txn.verify({ transactionalId, producerId, producerEpoch, topic: replica.topic, partition: replica.partition });
  if (code !== ErrorCode.NONE) {
    throw new KafkaError(code, `the transaction of producer ${producerId} (transactional id ${transactionalId}) was not verified for ${replica.topic}-${replica.partition}`, {
      topic: replica.topic,
      partition: replica.partition,
      producerId,
    });
  }
  return { verified: guard };
}
