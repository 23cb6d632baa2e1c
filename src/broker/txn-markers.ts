// Writing transaction markers on this broker's partition leaders: the work of Kafka's WriteTxnMarkers, called
// by the transaction coordinator (not a routed API: clients must not end transactions, and ApiVersions advertises
// only what is routed). Each marker names a producer, its epoch, the coordinator's epoch, COMMIT or ABORT and the
// partitions its transaction wrote to; every partition appends the control batch through the normal replicated
// append (followers copy it like any batch) and answers once the high watermark passed it, or with the Kafka
// error that tells the coordinator what to do (NOT_LEADER_OR_FOLLOWER: find the new leader and retry;
// INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED: this marker is stale). A marker on a
// __consumer_offsets partition also completes the offsets the producer committed there in its transaction
// (TxnOffsetCommit): the group coordinator makes them visible or drops them, as Kafka's
// GroupCoordinator.onTransactionCompleted after the marker append.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { BrokerServices } from './broker-services.ts';
import { errorCodeOf, KafkaError } from './kafka-error.ts';
import { leaderReplica } from './handlers/local-replica.ts';
import type { TxnMarkerType } from '../log/txn-marker.ts';
import { OFFSETS_TOPIC } from '../group/offsets-topic.ts';

export interface WritableTxnMarker {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  result: TxnMarkerType;
  topics: Array<{ name: string; partitions: number[] }>;
}

export interface TxnMarkerResult {
  producerId: number;
  topics: Array<{ name: string; partitions: Array<{ partition: number; errorCode: number }> }>;
}

/** Writes each marker on each of its partitions (all at once); the answers come in the markers' order. */
export function writeTxnMarkers(svc: BrokerServices, markers: readonly WritableTxnMarker[], timeoutMs: number): Promise<TxnMarkerResult[]> {
  const deadline = svc.clock.monotonic() + Math.max(0, timeoutMs);
  const left = () => Math.max(0, deadline - svc.clock.monotonic());
  return Promise.all(
    markers.map(async (m) => ({
      producerId: m.producerId,
      topics: await Promise.all(
        m.topics.map(async (t) => ({
          name: t.name,
          partitions: await Promise.all(
            t.partitions.map(async (partition) => {
              try {
                // A follower's replica refuses the append (NOT_LEADER_OR_FOLLOWER): the coordinator retries at the leader.
                const replica = await leaderReplica(svc, t.name, partition, left());
                await replica.appendTxnMarker(m.producerId, m.producerEpoch, { type: m.result, coordinatorEpoch: m.coordinatorEpoch }, left());
                if (t.name === OFFSETS_TOPIC) svc.groups?.completeTransaction(partition, m.producerId, m.result === 'COMMIT');
                return { partition, errorCode: ErrorCode.NONE as number };
              } catch (err) {
                if (!(err instanceof KafkaError)) svc.logger.error('writing a transaction marker failed', { topic: t.name, partition, producerId: m.producerId, error: err as Error });
                return { partition, errorCode: errorCodeOf(err) };
              }
            }),
          ),
        })),
      ),
    })),
  );
}
