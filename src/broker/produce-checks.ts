// What a partition leader checks of a produced records buffer before it appends it (Kafka's LogValidator and
// the transactional checks of KIP-890 part 1), apart from the replica's state: pure functions of the batch,
// the topic's limits and the producer state table.
import { validateBatch } from '../protocol/record-batch.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { CONTROL_FLAG, readBatchHeader, type BatchHeader } from '../protocol/record-batch-layout.ts';
import type { ProducerStateTable } from '../producer-state/producer-state.ts';
import { KafkaError } from './kafka-error.ts';

export interface ProduceLimits {
  topic: string;
  partition: number;
  /** max.message.bytes */
  maxMessageBytes: number;
  /** The largest batch replication carries, when bounded. */
  replicableBytes?: number;
}

export interface ProduceOptions {
  /** 'coordinator': a group or transaction coordinator's own write (no sequence checks, no verification). */
  origin?: 'client' | 'coordinator';
  /** A client's transactional batch verified with the coordinator: the verificationGuard taken before asking. */
  verified?: number;
}

/**
 * One valid record batch (CRC, counts), not a control batch (only the marker writer writes those: Kafka refuses
 * them from clients with INVALID_RECORD), alone in the buffer (Produce v3+ carries one batch per partition),
 * within max.message.bytes and what replication carries. Its header, or the Kafka error thrown.
 */
export function checkProducedBatch(records: Buffer, limits: ProduceLimits): BatchHeader {
  const where = { topic: limits.topic, partition: limits.partition };
  const check = validateBatch(records, 0, records.length);
  if (!check.ok) throw new KafkaError(check.errorCode, check.reason, where);
  const header = readBatchHeader(records, 0);
  if ((header.attributes & CONTROL_FLAG) !== 0) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, 'control batches (transaction markers) are not accepted from clients', where);
  }
  if (check.size !== records.length) throw new KafkaError(ErrorCode.INVALID_RECORD, 'a produce request must carry exactly one record batch per partition', where);
  if (records.length > limits.maxMessageBytes) {
    throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${records.length} bytes exceeds max.message.bytes ${limits.maxMessageBytes}`);
  }
  if (limits.replicableBytes !== undefined && records.length > limits.replicableBytes) {
    throw new KafkaError(
      ErrorCode.MESSAGE_TOO_LARGE,
      `batch of ${records.length} bytes is larger than replication over NATS carries (${limits.replicableBytes} bytes: half the NATS server's max_payload); raise max_payload in the NATS configuration or send smaller batches`,
    );
  }
  return header;
}

/**
 * KIP-890 part 1: a transactional batch that would open a transaction on the partition must have been verified
 * with the coordinator, and no marker for its producer may have landed since (a late batch of an ended
 * transaction would otherwise open a hanging one). The coordinator's own writes are verified by construction.
 */
export function checkTxnVerified(table: ProducerStateTable, producerId: number, opts: ProduceOptions, topic: string, partition: number): void {
  if (opts.origin === 'coordinator') return;
  if (table.openTransaction(producerId) !== null) return;
  const where = `transactional batch of producer ${producerId} for ${topic}-${partition}`;
  if (opts.verified === undefined) throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `${where}: the partition is not part of a verified transaction`, { topic, partition, producerId });
  if (table.markerCount(producerId) !== opts.verified) throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `${where}: its transaction ended while it was verified`, { topic, partition, producerId });
}
