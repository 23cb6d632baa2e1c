// Transaction markers (KIP-98): the control batch that ends a producer's transaction on a partition, in Kafka's
// EndTransactionMarker format. The batch has the control and transactional attribute bits (5 and 4), the
// producer's id and epoch, no sequence, and one record whose key is int16 version (0) + int16 type (0 ABORT,
// 1 COMMIT) and whose value is int16 version (0) + int32 coordinator epoch.
import { buildRecordBatch } from '../protocol/record-batch-builder.ts';
import { readRecords } from '../protocol/record-batch-reader.ts';
export { isControlBatch } from './batch-filter.ts';
import { TRANSACTIONAL_FLAG } from '../protocol/record-batch-layout.ts';

export type TxnMarkerType = 'ABORT' | 'COMMIT';

export interface TxnMarker {
  type: TxnMarkerType;
  coordinatorEpoch: number;
}

const ABORT = 0;
const COMMIT = 1;
const KEY_BYTES = 4;
const VALUE_BYTES = 6;

export function isTransactionalBatch(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_FLAG) !== 0;
}

/** The control batch a partition leader appends for WriteTxnMarkers (offsets and leader epoch set at append). */
export function buildTxnMarkerBatch(producerId: number, producerEpoch: number, marker: TxnMarker, timestamp: number): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(marker.type === 'COMMIT' ? COMMIT : ABORT, 2);
  const value = Buffer.alloc(VALUE_BYTES);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(marker.coordinatorEpoch, 2);
  return buildRecordBatch({ records: [{ key, value, timestamp }], producerId, producerEpoch, baseSequence: -1, isTransactional: true, isControl: true, timestamp });
}

/**
 * The marker of the control batch at pos, or null when its record is not an EndTransactionMarker (Kafka's
 * other control type, 2+, or a key it cannot read: such batches end no transaction).
 */
export function readTxnMarker(buf: Buffer, pos: number): TxnMarker | null {
  let record;
  try {
    [record] = readRecords(buf, pos);
  } catch {
    return null; // a body that cannot be read (compressed with a codec Kastor lacks) ends no transaction
  }
  const key = record?.key;
  if (!key || key.length < KEY_BYTES) return null;
  const type = key.readInt16BE(2);
  if (type !== ABORT && type !== COMMIT) return null;
  const value = record.value;
  const coordinatorEpoch = value && value.length >= VALUE_BYTES ? value.readInt32BE(2) : -1;
  return { type: type === COMMIT ? 'COMMIT' : 'ABORT', coordinatorEpoch };
}
