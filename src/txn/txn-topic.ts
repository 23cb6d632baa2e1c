// The internal topic `__transaction_state` and which of its partitions coordinates a transactional id: Kafka's
// TransactionStateManager.partitionFor, the same Java String.hashCode rule as __consumer_offsets, so an id
// lands on the same partition number as on a Kafka cluster with the same partition count.
import { partitionForGroup } from '../group/offsets-topic.ts';

export const TXN_STATE_TOPIC = '__transaction_state';
/** transaction.state.log.num.partitions (Kafka's default is 50; Kastor's 10, as for __consumer_offsets). */
export const DEFAULT_TXN_STATE_PARTITIONS = 10;
/** transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for (Kafka's default). */
export const DEFAULT_MAX_TXN_TIMEOUT_MS = 900_000;

export function partitionForTransactionalId(transactionalId: string, partitions: number): number {
  return partitionForGroup(transactionalId, partitions);
}

/** transactional.id.expiration.ms: how long an idle transactional id is kept (Kafka's default, 7 days). */
export const DEFAULT_TXN_ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000;
