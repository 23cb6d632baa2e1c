// Produce: validate and append each partition's record batch on its leader, answering per acks. Every
// partition gets its own error code; one bad partition never fails the others (Tansu's rule).
// Versions 0-2 carry the old message formats v0/v1 (message sets); Kastor stores RecordBatch v2 only, so each
// partition's message set is up-converted to one batch first (message-set-convert.ts), as Kafka 3.9's
// LogValidator does with its log at message format v2. Kafka checks nothing more for v0-v2: a RecordBatch v2
// sent at those versions is taken as it is. A compacted topic refuses records without a key (INVALID_RECORD).
// A transaction's first batch on a partition is verified with its coordinator first (KIP-890, txn-verification.ts).
import type { ProduceRequest, ProduceResponse } from '../../protocol/generated/produce.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { KafkaError, errorCodeOf } from '../kafka-error.ts';
import { CloseConnection } from '../request-handler.ts';
import { leaderReplica } from './local-replica.ts';
import { countRecords } from '../../metrics/batch-counts.ts';
import { magicAt } from '../../protocol/message-set.ts';
import { messageSetToRecordBatch } from '../../protocol/message-set-convert.ts';
import { RecordBatchError } from '../../protocol/record-batch-errors.ts';
import { keylessRecordIndexes } from '../../log/batch-filter.ts';
import { isCompactedTopic } from '../log-cleaner-manager.ts';
import { verifyTransactionalBatch } from '../../txn/txn-verification.ts';

/** The first Produce version that carries RecordBatch v2 only. */
const MIN_RECORD_BATCH_VERSION = 3;

/** The records as RecordBatch v2: a v0/v1 message set of Produce v0-v2 converted, anything else as it is. */
function asRecordBatch(records: Buffer, apiVersion: number): Buffer {
  const magic = magicAt(records);
  if (apiVersion >= MIN_RECORD_BATCH_VERSION || (magic !== 0 && magic !== 1)) return records;
  try {
    return messageSetToRecordBatch(records);
  } catch (err) {
    if (err instanceof RecordBatchError) throw new KafkaError(err.errorCode, err.message, {}, { cause: err });
    throw err;
  }
}

/**
 * Kafka's LogValidator on a compacted topic: a record without a key is refused with INVALID_RECORD (the cleaner
 * could never tell what it supersedes), the batch with it; every keyless record is named in the answer's
 * record_errors (KIP-467), so a client fails those records with INVALID_RECORD and retries or fails the others
 * as it chooses (librdkafka: _INVALID_DIFFERENT_RECORD). Records that do not parse are left to the replica's
 * validation.
 */
function refuseKeyless(records: Buffer, topic: string, partition: number): void {
  let indexes: number[];
  try {
    indexes = keylessRecordIndexes(records);
  } catch {
    return;
  }
  if (indexes.length > 0) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, `Compacted topic cannot accept message without key in topic partition ${topic}-${partition}.`, { topic, partition, recordIndexes: indexes });
  }
}

export async function produce(svc: BrokerServices, req: ProduceRequest, apiVersion: number): Promise<ProduceResponse | null> {
  const acks = req.acks;
  const validAcks = acks === 0 || acks === 1 || acks === -1;
  // One deadline for the whole request (Kafka's timeout_ms): waiting for a leader still opening its log counts.
  const deadline = svc.clock.monotonic() + Math.max(0, req.timeoutMs);
  const left = () => Math.max(0, deadline - svc.clock.monotonic());
  const responses = await Promise.all(
    req.topicData.map(async (topic) => ({
      name: topic.name,
      partitionResponses: await Promise.all(
        topic.partitionData.map(async (p) => {
          let errorCode: number = ErrorCode.NONE;
          let errorMessage: string | null = null;
          let recordErrors: Array<{ batchIndex: number; batchIndexErrorMessage: string | null }> = [];
          let baseOffset = -1;
          let logStartOffset = -1;
          let logAppendTime = -1;
          try {
            if (!validAcks) throw new KafkaError(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`);
            const replica = await leaderReplica(svc, topic.name, p.index, left());
            if (!p.records || p.records.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'empty records');
            const records = asRecordBatch(p.records, apiVersion);
            if (isCompactedTopic(svc.metadata.snapshot(), topic.name, svc.brokerId, svc.config.topicDefaults)) refuseKeyless(records, topic.name, p.index);
            const verified = await verifyTransactionalBatch(svc, req.transactionalId, replica, records);
            const r = await replica.produce(records, acks, left(), verified);
            svc.metrics.produced(topic.name, records.length, countRecords(records));
            baseOffset = r.baseOffset;
            logStartOffset = r.logStartOffset;
            logAppendTime = r.logAppendTime;
          } catch (err) {
            errorCode = errorCodeOf(err);
            errorMessage = (err as Error).message;
            // KIP-467 (Produce v8+): the records that made the batch invalid, by their index in the batch.
            const indexes = err instanceof KafkaError ? err.facts.recordIndexes : undefined;
            if (Array.isArray(indexes)) recordErrors = indexes.map((batchIndex: number) => ({ batchIndex, batchIndexErrorMessage: errorMessage }));
            if (!(err instanceof KafkaError)) svc.logger.error('produce failed', { topic: topic.name, partition: p.index, error: err as Error });
          }
          return {
            index: p.index,
            errorCode,
            baseOffset: BigInt(baseOffset),
            logAppendTimeMs: BigInt(logAppendTime),
            logStartOffset: BigInt(logStartOffset),
            recordErrors,
            errorMessage,
            currentLeader: { leaderId: -1, leaderEpoch: -1 },
          };
        }),
      ),
    })),
  );
  if (acks === 0) {
    // acks=0 has no response; like Kafka, close the connection on an error so the client notices.
    const failed = responses.flatMap((t) => t.partitionResponses.filter((p) => p.errorCode !== ErrorCode.NONE).map((p) => ({ topic: t.name, partition: p.index, errorCode: p.errorCode })));
    if (failed.length > 0) throw new CloseConnection('acks=0 produce failed', { failed });
    return null;
  }
  return { responses, throttleTimeMs: 0, nodeEndpoints: [] } as ProduceResponse;
}
