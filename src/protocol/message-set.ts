// Legacy message sets: message formats v0 (magic 0, Kafka 0.8) and v1 (magic 1, Kafka 0.10, KIP-32's
// timestamps), which Produce v0-v2 carry and Fetch v0-v3 answer with. Kastor stores RecordBatch v2 only;
// message-set-convert.ts turns these into batches and back, as Kafka's LogValidator and down-conversion do.
//
// A message set is a sequence of entries with no header of its own:
//   offset int64, size int32, then `size` bytes of message:
//   crc uint32 (CRC-32, IEEE, over magic .. end), magic int8, attributes int8, [timestamp int64, v1 only],
//   key (int32 length, -1 = null, bytes), value (int32 length, -1 = null, bytes).
// attributes bits 0-2 are the compression codec (0 none, 1 gzip, 2 snappy, 3 lz4); bit 3 (v1) says the
// timestamp is LogAppendTime. A compressed message is a wrapper: its value is the compressed message set of
// the inner messages, whose offsets are absolute in v0 and relative (0, 1, ...) in v1, where the wrapper's own
// offset is that of the last inner message (KIP-31). The magic byte sits at byte 16 of an entry, where
// RecordBatch v2 has its own, so one look tells the formats apart.

import { crc32 } from './crc32.ts';
import { readInt64, writeInt64 } from './record-batch-layout.ts';
import { CORRUPT_MESSAGE, RecordBatchError } from './record-batch-errors.ts';

/** offset + size: the bytes before each message. */
export const LOG_OVERHEAD = 12;
/** Bytes of a v0 message with empty key and value: crc, magic, attributes, two lengths. */
export const MESSAGE_V0_OVERHEAD = 14;
/** Bytes of a v1 message with empty key and value: v0's and the timestamp. */
export const MESSAGE_V1_OVERHEAD = 22;
/** Where the magic byte is, counted from the start of an entry (RecordBatch v2's is there too). */
export const ENTRY_MAGIC_OFFSET = 16;

export const LEGACY_COMPRESSION_MASK = 0x07;
export const LEGACY_TIMESTAMP_TYPE_LOG_APPEND = 0x08;
/** The codecs message formats v0 and v1 know (zstd came with v2 only). */
export const LEGACY_CODECS = ['none', 'gzip', 'snappy', 'lz4'] as const;

export type LegacyMagic = 0 | 1;

export interface LegacyMessage {
  offset: number;
  magic: LegacyMagic;
  attributes: number;
  /** -1 (Kafka's NO_TIMESTAMP) in v0. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

export function messageOverhead(magic: LegacyMagic): number {
  return magic === 0 ? MESSAGE_V0_OVERHEAD : MESSAGE_V1_OVERHEAD;
}

/** The magic byte of the entry or batch at pos, or undefined when the bytes are too few to tell. */
export function magicAt(buf: Buffer, pos = 0): number | undefined {
  return buf.length - pos > ENTRY_MAGIC_OFFSET ? buf.readInt8(pos + ENTRY_MAGIC_OFFSET) : undefined;
}

/**
 * Reads the messages of a message set at its outer level (wrappers are returned as they are, not opened),
 * checking each one's CRC and layout; a bad one throws RecordBatchError with CORRUPT_MESSAGE, as Kafka's
 * LegacyRecord.ensureValid does. A partial entry at the end is ignored, as Kafka trims it (a fetch response
 * may end in one, and Kafka's log append drops one after the valid bytes).
 */
export function readMessages(buf: Buffer, start = 0, end: number = buf.length): LegacyMessage[] {
  const out: LegacyMessage[] = [];
  let pos = start;
  while (end - pos >= LOG_OVERHEAD) {
    const size = buf.readInt32BE(pos + 8);
    if (size < MESSAGE_V0_OVERHEAD) throw new RecordBatchError(`message size ${size} at ${pos} is below the smallest message (${MESSAGE_V0_OVERHEAD})`, CORRUPT_MESSAGE, pos);
    if (pos + LOG_OVERHEAD + size > end) break;
    out.push(readMessage(buf, pos, size));
    pos += LOG_OVERHEAD + size;
  }
  return out;
}

function readMessage(buf: Buffer, pos: number, size: number): LegacyMessage {
  const offset = readInt64(buf, pos);
  const m = pos + LOG_OVERHEAD; // the crc
  const end = m + size;
  const magic = buf.readInt8(m + 4);
  if (magic !== 0 && magic !== 1) throw new RecordBatchError(`message at offset ${offset} has magic ${magic} inside a v0/v1 message set`, CORRUPT_MESSAGE, pos);
  if (size < messageOverhead(magic)) throw new RecordBatchError(`v${magic} message size ${size} is below its ${messageOverhead(magic)}-byte header`, CORRUPT_MESSAGE, pos);
  const stored = buf.readUInt32BE(m);
  const computed = crc32(buf, m + 4, end);
  if (stored !== computed) {
    throw new RecordBatchError(`message at offset ${offset}: CRC-32 mismatch: stored ${stored.toString(16)}, computed ${computed.toString(16)}`, CORRUPT_MESSAGE, pos);
  }
  const attributes = buf.readInt8(m + 5);
  let p = m + 6;
  let timestamp = -1;
  if (magic === 1) {
    timestamp = readInt64(buf, p);
    p += 8;
  }
  const key = readBytes(buf, p, end, offset, 'key');
  p += 4 + (key?.length ?? 0);
  const value = readBytes(buf, p, end, offset, 'value');
  p += 4 + (value?.length ?? 0);
  if (p !== end) throw new RecordBatchError(`message at offset ${offset}: ${end - p} bytes after its value`, CORRUPT_MESSAGE, pos);
  return { offset, magic, attributes, timestamp, key, value };
}

function readBytes(buf: Buffer, p: number, end: number, offset: number, what: string): Buffer | null {
  if (p + 4 > end) throw new RecordBatchError(`message at offset ${offset}: no room for its ${what} length`, CORRUPT_MESSAGE, p);
  const len = buf.readInt32BE(p);
  if (len < 0) return null;
  if (p + 4 + len > end) throw new RecordBatchError(`message at offset ${offset}: ${what} of ${len} bytes overruns the message`, CORRUPT_MESSAGE, p);
  return buf.subarray(p + 4, p + 4 + len);
}

/** Bytes of one entry (offset, size and message) holding key and value. */
export function entrySize(magic: LegacyMagic, key: Buffer | null, value: Buffer | null): number {
  return LOG_OVERHEAD + messageOverhead(magic) + (key?.length ?? 0) + (value?.length ?? 0);
}

/** Writes one entry at pos (its CRC computed) and returns the position after it. */
export function writeMessage(out: Buffer, pos: number, m: LegacyMessage): number {
  const size = entrySize(m.magic, m.key, m.value) - LOG_OVERHEAD;
  writeInt64(out, pos, m.offset);
  out.writeInt32BE(size, pos + 8);
  const c = pos + LOG_OVERHEAD;
  out.writeInt8(m.magic, c + 4);
  out.writeInt8(m.attributes, c + 5);
  let p = c + 6;
  if (m.magic === 1) {
    writeInt64(out, p, m.timestamp);
    p += 8;
  }
  for (const b of [m.key, m.value]) {
    out.writeInt32BE(b === null ? -1 : b.length, p);
    p += 4;
    if (b !== null) p += b.copy(out, p);
  }
  out.writeUInt32BE(crc32(out, c + 4, p), c);
  return p;
}

/** A message set of the given messages, in order. */
export function buildMessageSet(messages: readonly LegacyMessage[]): Buffer {
  let total = 0;
  for (const m of messages) total += entrySize(m.magic, m.key, m.value);
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const m of messages) pos = writeMessage(out, pos, m);
  return out;
}
