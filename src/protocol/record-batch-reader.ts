// Decodes the records inside a RecordBatch v2: the consumer-side view (offset, timestamp, key, value,
// headers), used by Kastor's own client, the group coordinator reading __consumer_offsets, and tests.
// The broker's byte path never calls this; it moves whole batches.
//
// Keys and values are subarrays of the batch (or of its decompressed body): zero-copy, so they alias the
// input buffer.

import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_SIZE,
  TIMESTAMP_TYPE_LOG_APPEND,
  batchSize,
  compressionOf,
  readBatchHeader,
} from './record-batch-layout.ts';
import { CORRUPT_MESSAGE, RecordBatchError, UnsupportedCompressionError } from './record-batch-errors.ts';
import { CodecError, decompress } from './compression/codecs.ts';
import { readVarint, readVarlong, type ByteCursor } from './varint.ts';

export interface KafkaRecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaRecordHeader[];
}

/** The uncompressed records section of the batch at pos (decompressing when the attributes say so). */
export function recordsBody(buf: Buffer, pos = 0): Buffer {
  const size = batchSize(buf, pos);
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  const body = buf.subarray(pos + BATCH_HEADER_SIZE, pos + size);
  const codec = compressionOf(attributes);
  if (typeof codec === 'number') throw new UnsupportedCompressionError(codec);
  try {
    return decompress(codec, body);
  } catch (cause) {
    if (!(cause instanceof CodecError)) throw cause;
    throw new RecordBatchError(cause.message, CORRUPT_MESSAGE, pos, { cause });
  }
}

/** Reads every record of the batch at pos. */
export function readRecords(buf: Buffer, pos = 0): KafkaRecord[] {
  const h = readBatchHeader(buf, pos);
  const body = recordsBody(buf, pos);
  const logAppendTime = (h.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const out: KafkaRecord[] = [];
  const cur: ByteCursor = { pos: 0 };
  try {
    for (let i = 0; i < h.recordsCount; i++) {
      const length = readVarint(body, cur);
      const recordEnd = cur.pos + length;
      if (length < 0 || recordEnd > body.length) throw new Error(`record ${i} length ${length} overruns the batch`);
      cur.pos += 1; // record attributes: unused in v2
      const timestampDelta = readVarlong(body, cur);
      const offsetDelta = readVarint(body, cur);
      const key = readNullableBytes(body, cur);
      const value = readNullableBytes(body, cur);
      const headerCount = readVarint(body, cur);
      if (headerCount < 0) throw new Error(`record ${i} has a negative header count`);
      const headers: KafkaRecordHeader[] = [];
      for (let j = 0; j < headerCount; j++) {
        const hk = readNullableBytes(body, cur);
        if (hk === null) throw new Error(`record ${i} header ${j} has a null key`);
        headers.push({ key: hk.toString('utf8'), value: readNullableBytes(body, cur) });
      }
      if (cur.pos !== recordEnd) throw new Error(`record ${i} fields do not fill its length`);
      out.push({
        offset: h.baseOffset + offsetDelta,
        timestamp: logAppendTime ? h.maxTimestamp : h.baseTimestamp + timestampDelta,
        key,
        value,
        headers,
      });
    }
  } catch (cause) {
    if (cause instanceof RecordBatchError) throw cause;
    throw new RecordBatchError(`malformed records: ${(cause as Error).message}`, CORRUPT_MESSAGE, pos, { cause });
  }
  return out;
}

function readNullableBytes(body: Buffer, cur: ByteCursor): Buffer | null {
  const len = readVarint(body, cur);
  if (len < 0) return null;
  const start = cur.pos;
  if (start + len > body.length) throw new Error('bytes field overruns the records');
  cur.pos = start + len;
  return body.subarray(start, start + len);
}

/**
 * Walks uncompressed records in body[start, end) without allocating and returns how many there are and
 * the largest offsetDelta seen. Throws RecordBatchError when a record's fields do not parse or do not
 * exactly fill its declared length.
 */
export function scanRecords(body: Uint8Array, start: number, end: number): { count: number; maxOffsetDelta: number } {
  const cur: ByteCursor = { pos: start };
  let count = 0;
  let maxOffsetDelta = -1;
  try {
    while (cur.pos < end) {
      const length = readVarint(body, cur);
      const recordEnd = cur.pos + length;
      if (length < 0 || recordEnd > end) throw new Error(`record ${count} length ${length} overruns the batch`);
      cur.pos += 1;
      readVarlong(body, cur);
      const offsetDelta = readVarint(body, cur);
      if (offsetDelta > maxOffsetDelta) maxOffsetDelta = offsetDelta;
      skipNullableBytes(body, cur, recordEnd);
      skipNullableBytes(body, cur, recordEnd);
      const headerCount = readVarint(body, cur);
      if (headerCount < 0) throw new Error(`record ${count} has a negative header count`);
      for (let j = 0; j < headerCount; j++) {
        skipNullableBytes(body, cur, recordEnd);
        skipNullableBytes(body, cur, recordEnd);
      }
      if (cur.pos !== recordEnd) throw new Error(`record ${count} fields do not fill its length`);
      count++;
    }
  } catch (cause) {
    throw new RecordBatchError(`malformed records: ${(cause as Error).message}`, CORRUPT_MESSAGE, cur.pos, { cause });
  }
  return { count, maxOffsetDelta };
}

function skipNullableBytes(body: Uint8Array, cur: ByteCursor, limit: number): void {
  const len = readVarint(body, cur);
  if (len > 0) {
    if (cur.pos + len > limit) throw new Error('bytes field overruns its record');
    cur.pos += len;
  }
}
