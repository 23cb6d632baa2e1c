// Rewriting one RecordBatch v2 with some of its records removed, as Kafka's MemoryRecords.filterTo does for
// the log cleaner. The batch keeps its base offset, its last offset (lastOffsetDelta: the producer's last
// sequence must survive, Kafka's builder.overrideLastOffset), partition leader epoch, producer id, epoch and
// base sequence; the kept records keep their offset deltas and timestamps, and the batch is compressed again
// with its own codec and given a new CRC-32C. A batch whose records all go is dropped, or kept as an empty
// header when it holds the last sequence of an active producer (Kafka's RETAIN_EMPTY).
//
// KIP-534: when a batch with tombstones is first cleaned, its base timestamp becomes the delete horizon
// (clean time + delete.retention.ms) and the batch's attributes say so (bit 6); the records' timestamp deltas
// are rewritten against it so every record keeps its timestamp. Tombstones go in a cleaning after that horizon.
//
// Pure: bytes in, bytes out. Every Kafka codec (gzip, snappy, lz4, zstd) is read and written again with the
// batch's own codec (src/protocol/compression/codecs.ts); only a batch whose attributes name no codec (5-7)
// is never filtered: the caller keeps it as it is.

import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BATCH_OVERHEAD,
  COMPRESSION_MASK,
  COMPRESSION_CODECS,
  CONTROL_FLAG,
  CRC_OFFSET,
  CRC_START,
  MAX_TIMESTAMP_OFFSET,
  RECORDS_COUNT_OFFSET,
  TIMESTAMP_TYPE_LOG_APPEND,
  readBatchHeader,
  writeInt64,
  type BatchHeader,
} from '../protocol/record-batch-layout.ts';
import { recordsBody } from '../protocol/record-batch-reader.ts';
import { crc32c } from '../protocol/crc32c.ts';
import { compress } from '../protocol/compression/codecs.ts';
import { readVarint, readVarlong, varintSize, varlongSize, writeVarint, writeVarlong, type ByteCursor } from '../protocol/varint.ts';

/** Kafka's DELETE_HORIZON_FLAG_MASK: the base timestamp is the delete horizon of the batch's tombstones (KIP-534). */
export const DELETE_HORIZON_FLAG = 0x40;

/** One record of a batch as the cleaner sees it: enough to decide, and its bytes to copy. */
export interface CleanerRecord {
  offset: number;
  timestamp: number;
  /** A subarray of the (decompressed) records body; null for a keyless record. */
  key: Buffer | null;
  isTombstone: boolean;
  offsetDelta: number;
  /** The record's bytes from its key to its end (key, value, headers), copied unchanged. */
  tail: Buffer;
}

/** Whether the batch's records can be read: its attributes name one of Kafka's codecs (none, gzip, snappy, lz4, zstd). */
export function isFilterable(attributes: number): boolean {
  return (attributes & COMPRESSION_MASK) < COMPRESSION_CODECS.length;
}

export function isControlBatch(attributes: number): boolean {
  return (attributes & CONTROL_FLAG) !== 0;
}

/** The delete horizon a batch carries (KIP-534), or null. */
export function deleteHorizonOf(h: Pick<BatchHeader, 'attributes' | 'baseTimestamp'>): number | null {
  return (h.attributes & DELETE_HORIZON_FLAG) !== 0 ? h.baseTimestamp : null;
}

/** What scanRecordKeys reports per record; one object, reused for every record (no allocation per record). */
export interface RecordKeyView {
  index: number;
  offsetDelta: number;
  /** Key bytes are body[keyStart, keyStart + keyLength); keyLength -1 for a keyless record. */
  keyStart: number;
  keyLength: number;
  isTombstone: boolean;
}

/**
 * Walks the records of an uncompressed records body (recordsBody) without allocating: the cleaner's fast path,
 * which only needs each record's offset and key to build its offset map and to decide what stays.
 */
export function scanRecordKeys(body: Buffer, count: number, fn: (r: RecordKeyView) => void): void {
  const cur: ByteCursor = { pos: 0 };
  const view: RecordKeyView = { index: 0, offsetDelta: 0, keyStart: 0, keyLength: -1, isTombstone: false };
  for (let i = 0; i < count; i++) {
    const length = readVarint(body, cur);
    const end = cur.pos + length;
    if (length < 0 || end > body.length) throw new Error(`record ${i} overruns its batch`);
    cur.pos += 1;
    readVarlong(body, cur);
    view.index = i;
    view.offsetDelta = readVarint(body, cur);
    view.keyLength = readVarint(body, cur);
    view.keyStart = cur.pos;
    if (view.keyLength > 0) cur.pos += view.keyLength;
    view.isTombstone = readVarint(body, cur) < 0;
    fn(view);
    cur.pos = end;
  }
}

/** Every record of the filterable batch at pos (records of a LogAppendTime batch take its max timestamp). */
export function cleanerRecords(buf: Buffer, pos = 0): CleanerRecord[] {
  const h = readBatchHeader(buf, pos);
  const body = recordsBody(buf, pos);
  const logAppendTime = (h.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const out: CleanerRecord[] = [];
  const cur: ByteCursor = { pos: 0 };
  for (let i = 0; i < h.recordsCount; i++) {
    const length = readVarint(body, cur);
    const end = cur.pos + length;
    if (length < 0 || end > body.length) throw new Error(`record ${i} of the batch at offset ${h.baseOffset} overruns it`);
    cur.pos += 1;
    const tsDelta = readVarlong(body, cur);
    const offsetDelta = readVarint(body, cur);
    const tailStart = cur.pos;
    const keyLen = readVarint(body, cur);
    const key = keyLen < 0 ? null : body.subarray(cur.pos, cur.pos + keyLen);
    if (keyLen > 0) cur.pos += keyLen;
    const valueLen = readVarint(body, cur);
    out.push({
      offset: h.baseOffset + offsetDelta,
      timestamp: logAppendTime ? h.maxTimestamp : h.baseTimestamp + tsDelta,
      key,
      isTombstone: valueLen < 0,
      offsetDelta,
      tail: body.subarray(tailStart, end),
    });
    cur.pos = end;
  }
  return out;
}

/**
 * The batch at pos rebuilt with only `kept` (a subset of its records, in order). `deleteHorizon`: the
 * horizon to stamp (a tombstone is kept and the batch has none yet), else null to keep what it has.
 */
export function rebuildBatch(buf: Buffer, pos: number, kept: CleanerRecord[], deleteHorizon: number | null): Buffer {
  const h = readBatchHeader(buf, pos);
  const logAppendTime = (h.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  // An empty batch (an active producer's last sequence, nothing else) is a bare header stamped with the
  // batch's max timestamp, as Kafka's writeEmptyHeader writes it.
  const horizon = kept.length === 0 ? null : (deleteHorizon ?? deleteHorizonOf(h));
  const baseTimestamp = horizon ?? (kept.length === 0 ? h.maxTimestamp : logAppendTime ? h.baseTimestamp : kept[0]!.timestamp);
  let maxTimestamp = logAppendTime ? h.maxTimestamp : -1;
  let total = 0;
  const sizes: number[] = [];
  for (const r of kept) {
    // A LogAppendTime batch's records keep the deltas they had: readers take the batch's max timestamp.
    const delta = logAppendTime ? 0 : r.timestamp - baseTimestamp;
    if (!logAppendTime && r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    const size = 1 + varlongSize(delta) + varintSize(r.offsetDelta) + r.tail.length;
    sizes.push(size);
    total += varintSize(size) + size;
  }
  const body = Buffer.allocUnsafe(total);
  let p = 0;
  kept.forEach((r, i) => {
    p = writeVarint(body, p, sizes[i]!);
    body[p++] = 0;
    p = writeVarlong(body, p, logAppendTime ? 0 : r.timestamp - baseTimestamp);
    p = writeVarint(body, p, r.offsetDelta);
    p += r.tail.copy(body, p);
  });
  const codec = COMPRESSION_CODECS[h.attributes & COMPRESSION_MASK]!;
  const records = kept.length > 0 ? compress(codec, body) : body;
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + records.length);
  buf.copy(out, 0, pos, pos + BATCH_HEADER_SIZE);
  records.copy(out, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - BATCH_OVERHEAD, BATCH_LENGTH_OFFSET);
  // An empty batch is written uncompressed, as Kafka's writeEmptyHeader does.
  let attributes = (kept.length > 0 ? h.attributes : h.attributes & ~COMPRESSION_MASK) & ~DELETE_HORIZON_FLAG;
  if (horizon !== null) attributes |= DELETE_HORIZON_FLAG;
  out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  writeInt64(out, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  writeInt64(out, MAX_TIMESTAMP_OFFSET, kept.length > 0 || logAppendTime ? maxTimestamp : h.maxTimestamp);
  out.writeInt32BE(kept.length, RECORDS_COUNT_OFFSET);
  out.writeUInt32BE(crc32c(out, CRC_START, out.length), CRC_OFFSET);
  return out;
}

/**
 * The indexes of the records without a key in the batch at pos, whatever its codec (none for a batch whose
 * attributes name no codec). Kafka's LogValidator refuses such records on a compacted topic.
 */
export function keylessRecordIndexes(buf: Buffer, pos = 0): number[] {
  const h = readBatchHeader(buf, pos);
  if (isControlBatch(h.attributes) || !isFilterable(h.attributes)) return [];
  return cleanerRecords(buf, pos).flatMap((r, i) => (r.key === null ? [i] : []));
}
