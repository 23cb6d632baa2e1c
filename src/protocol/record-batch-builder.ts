// Builds a RecordBatch v2 from records: what a producer sends (Kastor's client, tests, benchmarks).
// Two passes over the records — sizes, then bytes into one exact allocation — and one CRC at the end.
//
// Timestamps are never read from a clock here (protocol code is pure): a record without one takes the
// batch `timestamp`, and without that Kafka's NO_TIMESTAMP (-1).

import { compress } from './compression/codecs.ts';
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BATCH_OVERHEAD,
  CRC_OFFSET,
  CRC_START,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_TIMESTAMP,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  TRANSACTIONAL_FLAG,
  CONTROL_FLAG,
  COMPRESSION_CODECS,
  setBaseOffset,
  type CompressionCodec,
  writeInt64,
} from './record-batch-layout.ts';
import { RecordBatchError, INVALID_RECORD } from './record-batch-errors.ts';
import { crc32c } from './crc32c.ts';
import { varintSize, varlongSize, writeVarint, writeVarlong } from './varint.ts';

type Bytes = Buffer | string | null;

export interface RecordInput {
  key?: Bytes;
  value: Bytes;
  headers?: Array<{ key: string; value: Bytes }>;
  timestamp?: number;
}

export interface BuildBatchOptions {
  records: RecordInput[];
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  compression?: CompressionCodec;
  /** Base timestamp and the default for records without one. */
  timestamp?: number;
  isTransactional?: boolean;
  /** A control batch (attribute bit 5): transaction markers (src/log/txn-marker.ts). */
  isControl?: boolean;
}

function bytesLen(v: Bytes | undefined): number {
  if (v === null || v === undefined) return -1;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

function writeBytes(buf: Buffer, pos: number, v: Bytes | undefined, len: number): number {
  pos = writeVarint(buf, pos, len);
  if (len <= 0) return pos;
  if (typeof v === 'string') buf.write(v, pos, len, 'utf8');
  else (v as Buffer).copy(buf, pos);
  return pos + len;
}

export function buildRecordBatch(opts: BuildBatchOptions): Buffer {
  const { records } = opts;
  const n = records.length;
  if (n === 0) throw new RecordBatchError('a record batch needs at least one record', INVALID_RECORD, 0);

  const baseTimestamp = opts.timestamp ?? records[0]!.timestamp ?? NO_TIMESTAMP;
  let maxTimestamp = NO_TIMESTAMP;
  const bodySizes = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? baseTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const kl = bytesLen(r.key);
    const vl = bytesLen(r.value);
    let size = 1 + varlongSize(ts - baseTimestamp) + varintSize(i) + varintSize(kl) + Math.max(kl, 0) + varintSize(vl) + Math.max(vl, 0);
    const headers = r.headers ?? [];
    size += varintSize(headers.length);
    for (const h of headers) {
      const hk = Buffer.byteLength(h.key, 'utf8');
      const hv = bytesLen(h.value);
      size += varintSize(hk) + hk + varintSize(hv) + Math.max(hv, 0);
    }
    bodySizes[i] = size;
    total += varintSize(size) + size;
  }

  const body = Buffer.allocUnsafe(total);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    p = writeVarint(body, p, bodySizes[i]!);
    body[p++] = 0; // record attributes
    p = writeVarlong(body, p, (r.timestamp ?? baseTimestamp) - baseTimestamp);
    p = writeVarint(body, p, i);
    p = writeBytes(body, p, r.key, bytesLen(r.key));
    p = writeBytes(body, p, r.value, bytesLen(r.value));
    const headers = r.headers ?? [];
    p = writeVarint(body, p, headers.length);
    for (const h of headers) {
      p = writeBytes(body, p, h.key, Buffer.byteLength(h.key, 'utf8'));
      p = writeBytes(body, p, h.value, bytesLen(h.value));
    }
  }

  const codec = opts.compression ?? 'none';
  const records_ = compress(codec, body);
  const buf = Buffer.allocUnsafe(BATCH_HEADER_SIZE + records_.length);
  records_.copy(buf, BATCH_HEADER_SIZE);

  setBaseOffset(buf, 0, opts.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - BATCH_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  buf.writeInt16BE(COMPRESSION_CODECS.indexOf(codec) | (opts.isTransactional ? TRANSACTIONAL_FLAG : 0) | (opts.isControl ? CONTROL_FLAG : 0), ATTRIBUTES_OFFSET);
  buf.writeInt32BE(n - 1, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  writeInt64(buf, PRODUCER_ID_OFFSET, opts.producerId ?? -1);
  buf.writeInt16BE(opts.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(opts.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(n, RECORDS_COUNT_OFFSET);
  buf.writeUInt32BE(crc32c(buf, CRC_START, buf.length), CRC_OFFSET);
  return buf;
}
