// Conversions between the legacy message sets (message-set.ts) and RecordBatch v2, the one format Kastor
// stores, as Kafka 3.9 does with its log at message format v2:
// - up: a Produce v0-v2 message set becomes one RecordBatch v2 (Kafka's LogValidator.convertAndAssignOffsets-
//   NonCompressed and validateMessagesAndAssignOffsetsCompressed): every message, or every inner message of a
//   compressed wrapper, becomes a record in order; v1 timestamps are kept (CreateTime), v0 messages have none
//   (-1); the batch is compressed with the first wrapper's codec (the topic's compression.type is "producer").
//   The broker then assigns offsets and, on a LogAppendTime topic, stamps the batch, as for any batch.
// - down: the batches a Fetch v0-v3 reads become a message set of the magic the version implies (0 for Fetch
//   v0-v1, 1 for v2-v3), as Kafka's RecordsUtil.downConvert does: a compressed batch becomes one wrapper
//   message of the same codec, an uncompressed one loose messages (dropping those below the fetch offset),
//   control batches are left out, headers are dropped (v0 and v1 have none), and a LogAppendTime batch keeps
//   its time in v1.
// v0 and v1 know gzip, snappy and lz4 (an lz4 wrapper of v0 gets the pre-KIP-57 frame checksum, as Kafka
// writes it); a zstd batch cannot be down-converted and gets UNSUPPORTED_COMPRESSION_TYPE, as in KIP-110.
//
// Pure functions: bytes in, bytes out; errors are RecordBatchError carrying the Kafka error code to answer.

import { CodecError, compress, decompress } from './compression/codecs.ts';
import { lz4Compress } from './compression/lz4-frame.ts';
import { buildRecordBatch, type RecordInput } from './record-batch-builder.ts';
import {
  batchPositions,
  compressionOf,
  COMPRESSION_MASK,
  CONTROL_FLAG,
  readBatchHeader,
  TIMESTAMP_TYPE_LOG_APPEND,
  type CompressionCodec,
} from './record-batch-layout.ts';
import { readRecords, type KafkaRecord } from './record-batch-reader.ts';
import { CORRUPT_MESSAGE, INVALID_RECORD, RecordBatchError, UNSUPPORTED_COMPRESSION_TYPE, UnsupportedCompressionError } from './record-batch-errors.ts';
import {
  buildMessageSet,
  LEGACY_CODECS,
  LEGACY_COMPRESSION_MASK,
  LEGACY_TIMESTAMP_TYPE_LOG_APPEND,
  readMessages,
  type LegacyMagic,
  type LegacyMessage,
} from './message-set.ts';

type LegacyCodec = (typeof LEGACY_CODECS)[number];
const ZSTD = 4;

function legacyCodec(id: number): LegacyCodec | null {
  return LEGACY_CODECS[id] ?? null;
}

function unwrap(codec: LegacyCodec, body: Buffer, offset: number): Buffer {
  try {
    return decompress(codec, body);
  } catch (cause) {
    if (!(cause instanceof CodecError)) throw cause;
    throw new RecordBatchError(`the ${codec} wrapper at offset ${offset} does not decompress`, CORRUPT_MESSAGE, 0, { cause });
  }
}

/**
 * Produce v0-v2: the message set `buf` as one RecordBatch v2 (base offset 0, no producer id, CreateTime) holding
 * every message in order. CRCs are checked (CORRUPT_MESSAGE); a wrapper whose inner messages are compressed
 * again, have another magic, or are missing is INVALID_RECORD, as in Kafka's LogValidator.
 */
export function messageSetToRecordBatch(buf: Buffer): Buffer {
  const records: RecordInput[] = [];
  let compression: CompressionCodec = 'none';
  for (const m of readMessages(buf)) {
    const id = m.attributes & LEGACY_COMPRESSION_MASK;
    const codec = legacyCodec(id);
    if (codec === 'none') {
      records.push(recordOf(m));
      continue;
    }
    if (codec === null) {
      throw new RecordBatchError(`a v${m.magic} message at offset ${m.offset} names compression codec ${id}, which message format v${m.magic} does not have`, UNSUPPORTED_COMPRESSION_TYPE, 0);
    }
    if (m.value === null) throw new RecordBatchError(`the compressed wrapper at offset ${m.offset} has a null value`, INVALID_RECORD, 0);
    if (compression === 'none') compression = codec;
    const inner = readMessages(unwrap(codec, m.value, m.offset));
    if (inner.length === 0) throw new RecordBatchError(`the compressed wrapper at offset ${m.offset} holds no messages`, INVALID_RECORD, 0);
    for (const i of inner) {
      if ((i.attributes & LEGACY_COMPRESSION_MASK) !== 0) {
        throw new RecordBatchError('a compressed outer message has an inner message with a compression attribute set', INVALID_RECORD, 0);
      }
      if (i.magic !== m.magic) throw new RecordBatchError(`an inner message's magic ${i.magic} does not match its wrapper's ${m.magic}`, INVALID_RECORD, 0);
      records.push(recordOf(i));
    }
  }
  if (records.length === 0) throw new RecordBatchError(`no whole message in ${buf.length} bytes of message set`, CORRUPT_MESSAGE, 0);
  return buildRecordBatch({ records, timestamp: records[0]!.timestamp, compression });
}

function recordOf(m: LegacyMessage): RecordInput {
  return { key: m.key, value: m.value, timestamp: m.magic === 0 ? -1 : m.timestamp };
}

/**
 * Fetch v0-v3: the RecordBatch v2 bytes `data` (whole batches, as a log read returns them; a partial one at the
 * end is left out) as a message set of `magic`. Records of an uncompressed batch below `fetchOffset` are left
 * out; a compressed batch is kept whole, as Kafka does (the client skips what it did not ask for). Batches are
 * taken while the message set stays within `maxBytes`, the first always.
 */
export function recordBatchesToMessageSet(data: Buffer, magic: LegacyMagic, fetchOffset: number, maxBytes: number = Number.MAX_SAFE_INTEGER): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (const { pos } of batchPositions(data)) {
    const h = readBatchHeader(data, pos);
    if (h.magic !== 2) throw new RecordBatchError(`a stored batch has magic ${h.magic}`, CORRUPT_MESSAGE, pos);
    if ((h.attributes & CONTROL_FLAG) !== 0) continue;
    const codec = legacyCodec(h.attributes & COMPRESSION_MASK);
    if (codec === null) {
      const why = (h.attributes & COMPRESSION_MASK) === ZSTD ? 'zstd needs message format v2 (KIP-110)' : 'no such codec';
      throw new RecordBatchError(
        `the ${compressionOf(h.attributes)}-compressed batch at offset ${h.baseOffset} cannot be converted to message format v${magic}: ${why}`,
        UNSUPPORTED_COMPRESSION_TYPE,
        pos,
      );
    }
    let records: KafkaRecord[];
    try {
      records = readRecords(data, pos);
    } catch (err) {
      if (err instanceof UnsupportedCompressionError) throw new RecordBatchError(err.message, UNSUPPORTED_COMPRESSION_TYPE, pos, { cause: err });
      throw err;
    }
    const logAppendTime = (h.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0 ? h.maxTimestamp : null;
    const part = codec === 'none' ? looseMessages(records.filter((r) => r.offset >= fetchOffset), magic, logAppendTime) : wrapperMessage(records, codec, magic, logAppendTime);
    if (part.length === 0) continue;
    if (parts.length > 0 && total + part.length > maxBytes) break;
    parts.push(part);
    total += part.length;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

function legacyMessages(records: KafkaRecord[], magic: LegacyMagic, logAppendTime: number | null, offsetOf: (r: KafkaRecord) => number): LegacyMessage[] {
  const typeBit = magic === 1 && logAppendTime !== null ? LEGACY_TIMESTAMP_TYPE_LOG_APPEND : 0;
  return records.map((r) => ({
    offset: offsetOf(r),
    magic,
    attributes: typeBit,
    timestamp: magic === 0 ? -1 : (logAppendTime ?? r.timestamp),
    key: r.key,
    value: r.value,
  }));
}

function looseMessages(records: KafkaRecord[], magic: LegacyMagic, logAppendTime: number | null): Buffer {
  return buildMessageSet(legacyMessages(records, magic, logAppendTime, (r) => r.offset));
}

/** One wrapper of the batch's codec holding the records: inner offsets absolute in v0, relative in v1; its own, the last one's. */
function wrapperMessage(records: KafkaRecord[], codec: Exclude<LegacyCodec, 'none'>, magic: LegacyMagic, logAppendTime: number | null): Buffer {
  if (records.length === 0) return Buffer.alloc(0);
  const first = records[0]!.offset;
  const inner = legacyMessages(records, magic, logAppendTime, (r) => (magic === 1 ? r.offset - first : r.offset));
  let maxTimestamp = -1;
  for (const r of records) if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
  return buildMessageSet([
    {
      offset: records[records.length - 1]!.offset,
      magic,
      attributes: LEGACY_CODECS.indexOf(codec) | (magic === 1 && logAppendTime !== null ? LEGACY_TIMESTAMP_TYPE_LOG_APPEND : 0),
      timestamp: magic === 0 ? -1 : (logAppendTime ?? maxTimestamp),
      key: null,
      value: codec === 'lz4' && magic === 0 ? lz4Compress(buildMessageSet(inner), true) : compress(codec, buildMessageSet(inner)),
    },
  ]);
}
