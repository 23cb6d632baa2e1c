// The RecordBatch v2 (magic 2) header layout and the in-place operations a broker does on it.
//
// Everything here works on raw bytes at a position so a log segment, a Produce request and a Fetch
// response can all be walked without copying. int64 fields are read as numbers: offsets, timestamps
// and producer ids are safe integers in practice, and -1 sentinels stay -1.

import { crc32c } from './crc32c.ts';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

/** Size of the fixed batch header; records start here. */
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes batchLength does not count. */
export const BATCH_OVERHEAD = 12;
/** Smallest legal batchLength: a header with no records. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - BATCH_OVERHEAD;

/** CRC-32C covers attributes through the end of the batch. */
export const CRC_START = ATTRIBUTES_OFFSET;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;

export const CURRENT_MAGIC = 2;
/** Kafka's RecordBatch.NO_TIMESTAMP / NO_PRODUCER_ID / NO_SEQUENCE etc. */
export const NO_TIMESTAMP = -1;

export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export const COMPRESSION_CODECS: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** Reads a big-endian int64 as a number (exact for safe integers, including negatives like -1). */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

/** Writes a safe integer as a big-endian int64. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 0x1_0000_0000, pos + 4);
}

/** Reads the 61-byte header at pos; the caller ensures the bytes are there. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, pos + BASE_OFFSET_OFFSET),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordsCount: buf.readInt32BE(pos + RECORDS_COUNT_OFFSET),
  };
}

/** Total bytes of the batch at pos: batchLength + 12. */
export function batchSize(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD;
}

export function readBaseOffset(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + BASE_OFFSET_OFFSET);
}

export function readLastOffset(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + BASE_OFFSET_OFFSET) + buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
}

export function readMaxTimestamp(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + MAX_TIMESTAMP_OFFSET);
}

export function compressionOf(attributes: number): CompressionCodec | number {
  const id = attributes & COMPRESSION_MASK;
  return COMPRESSION_CODECS[id] ?? id;
}

/** Sets baseOffset in place. It lies outside the CRC, so the batch stays valid. */
export function setBaseOffset(buf: Buffer, pos: number, offset: number): void {
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, offset);
}

/**
 * Marks the batch at pos as LogAppendTime with maxTimestamp `now` (a topic with message.timestamp.type
 * LogAppendTime), as Kafka's DefaultRecordBatch.setMaxTimestamp does: the timestamp-type bit of the attributes
 * and maxTimestamp change, the records keep their own timestamps (a reader takes maxTimestamp for every record
 * of such a batch), and the CRC is computed again since both fields lie inside it.
 */
export function setLogAppendTime(buf: Buffer, pos: number, now: number): void {
  buf.writeInt16BE(buf.readInt16BE(pos + ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_LOG_APPEND, pos + ATTRIBUTES_OFFSET);
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, now);
  buf.writeUInt32BE(crc32c(buf, pos + CRC_START, pos + batchSize(buf, pos)), pos + CRC_OFFSET);
}

/** Sets partitionLeaderEpoch in place; also outside the CRC. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Calls fn for each whole batch in buf[start, end). Stops cleanly at a trailing partial batch, which Kafka
 * allows at the end of a Fetch response, or at a length too small to be a batch. Returns the position after
 * the last whole batch visited. Nothing is validated beyond sizes.
 */
export function forEachBatch(
  buf: Buffer,
  fn: (pos: number, header: BatchHeader) => void,
  start = 0,
  end: number = buf.length,
): number {
  let pos = start;
  while (end - pos >= BATCH_HEADER_SIZE) {
    const length = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (length < MIN_BATCH_LENGTH || length + BATCH_OVERHEAD > end - pos) break;
    fn(pos, readBatchHeader(buf, pos));
    pos += length + BATCH_OVERHEAD;
  }
  return pos;
}

/** Iterates the whole batches of buf as { pos, size }, with the same stopping rule as forEachBatch. */
export function* batchPositions(buf: Buffer, start = 0, end: number = buf.length): Generator<{ pos: number; size: number }> {
  let pos = start;
  while (end - pos >= BATCH_HEADER_SIZE) {
    const length = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (length < MIN_BATCH_LENGTH || length + BATCH_OVERHEAD > end - pos) return;
    const size = length + BATCH_OVERHEAD;
    yield { pos, size };
    pos += size;
  }
}
