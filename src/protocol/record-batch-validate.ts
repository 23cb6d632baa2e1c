// Broker-side validation of a produced RecordBatch v2, answering with Kafka error codes as data so one bad
// partition never fails a whole Produce request. Mirrors Kafka's LogValidator / DefaultRecordBatch.ensureValid:
// magic, sizes, CRC-32C, and record counts. Kafka does not require recordsCount == lastOffsetDelta + 1
// (compacted batches have gaps), only that the deltas leave room for the records.

import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BATCH_OVERHEAD,
  COMPRESSION_MASK,
  CRC_OFFSET,
  CRC_START,
  CURRENT_MAGIC,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  readBatchHeader,
  type BatchHeader,
} from './record-batch-layout.ts';
import { CORRUPT_MESSAGE, INVALID_RECORD, RecordBatchError, UNSUPPORTED_FOR_MESSAGE_FORMAT } from './record-batch-errors.ts';
import { scanRecords } from './record-batch-reader.ts';
import { crc32c } from './crc32c.ts';

export type BatchValidation =
  | { ok: true; header: BatchHeader; size: number }
  | { ok: false; errorCode: number; reason: string };

export interface ValidateOptions {
  /** Also parse every record of an uncompressed batch and check the count (a cheap varint pass). */
  deep?: boolean;
  /**
   * Accept a batch of no records: the log cleaner keeps an active idempotent producer's last batch as an empty
   * header (Kafka's RETAIN_EMPTY), so a log read back may hold them; a producer may never send one.
   */
  allowEmpty?: boolean;
}

function fail(errorCode: number, reason: string): BatchValidation {
  return { ok: false, errorCode, reason };
}

/** Validates the one batch at buf[pos, ...) that must fit within end. */
export function validateBatch(buf: Buffer, pos = 0, end: number = buf.length, options: ValidateOptions = {}): BatchValidation {
  const avail = end - pos;
  // Legacy message sets put magic at the same offset (16), so it can be checked before the v2 header size.
  if (avail <= MAGIC_OFFSET) return fail(CORRUPT_MESSAGE, `only ${avail} bytes, too short for a batch header`);
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic === 0 || magic === 1) return fail(UNSUPPORTED_FOR_MESSAGE_FORMAT, `magic ${magic} message sets are not supported`);
  if (magic !== CURRENT_MAGIC) return fail(CORRUPT_MESSAGE, `unknown magic ${magic}`);
  if (avail < BATCH_HEADER_SIZE) return fail(CORRUPT_MESSAGE, `only ${avail} bytes, too short for a batch header`);
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < MIN_BATCH_LENGTH) return fail(CORRUPT_MESSAGE, `batchLength ${batchLength} is below ${MIN_BATCH_LENGTH}`);
  const size = batchLength + BATCH_OVERHEAD;
  if (size > avail) return fail(CORRUPT_MESSAGE, `batchLength ${batchLength} runs past the ${avail} bytes given`);
  const stored = buf.readUInt32BE(pos + CRC_OFFSET);
  const computed = crc32c(buf, pos + CRC_START, pos + size);
  if (stored !== computed) {
    return fail(CORRUPT_MESSAGE, `CRC-32C mismatch: stored ${stored.toString(16)}, computed ${computed.toString(16)}`);
  }
  const header = readBatchHeader(buf, pos);
  if (header.recordsCount < (options.allowEmpty ? 0 : 1)) return fail(INVALID_RECORD, `recordsCount ${header.recordsCount}: a batch needs records`);
  if (header.lastOffsetDelta < 0) return fail(INVALID_RECORD, `negative lastOffsetDelta ${header.lastOffsetDelta}`);
  if (header.lastOffsetDelta < header.recordsCount - 1) {
    return fail(INVALID_RECORD, `lastOffsetDelta ${header.lastOffsetDelta} leaves no room for ${header.recordsCount} records`);
  }
  if (options.deep && (header.attributes & COMPRESSION_MASK) === 0) {
    let scanned: { count: number; maxOffsetDelta: number };
    try {
      scanned = scanRecords(buf, pos + BATCH_HEADER_SIZE, pos + size);
    } catch (e) {
      if (e instanceof RecordBatchError) return fail(CORRUPT_MESSAGE, e.message);
      throw e;
    }
    if (scanned.count !== header.recordsCount) {
      return fail(INVALID_RECORD, `recordsCount ${header.recordsCount} but ${scanned.count} records present`);
    }
    if (scanned.maxOffsetDelta > header.lastOffsetDelta) {
      return fail(INVALID_RECORD, `record offsetDelta ${scanned.maxOffsetDelta} exceeds lastOffsetDelta ${header.lastOffsetDelta}`);
    }
  }
  return { ok: true, header, size };
}
