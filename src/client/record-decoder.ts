// Decodes the RecordBatches of a Fetch response straight into the consumer's records (offset as bigint,
// key/value/header values as zero-copy subarrays of the response). It is protocol/record-batch-reader's
// readRecords specialised for the consumer's hot path: one object per record instead of two, varints read
// inline, one shared empty header list — about twice the records per second. Compressed batches are
// decompressed by recordsBody (every Kafka codec: src/protocol/compression). Control batches
// (transaction markers) are skipped, as Kafka's consumer does.
import { recordsBody, type KafkaRecordHeader } from '../protocol/record-batch-reader.ts';
import { CONTROL_FLAG, TIMESTAMP_TYPE_LOG_APPEND, TRANSACTIONAL_FLAG, batchPositions, readBatchHeader } from '../protocol/record-batch-layout.ts';
import { readTxnMarker } from '../log/txn-marker.ts';

/** An aborted transaction a read_committed Fetch answer names: its producer and first offset. */
export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

export interface DecodedRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaRecordHeader[];
  timestamp: number;
}

/** A record's offset as its batch's base plus one of these costs a third of BigInt(offset) (measured: 11 against 26 ns). */
const SMALL_DELTAS: readonly bigint[] = Array.from({ length: 4096 }, (_, i) => BigInt(i));

const NO_HEADERS: KafkaRecordHeader[] = Object.freeze([]) as unknown as KafkaRecordHeader[];

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  /** A zigzag varint or varlong as a number (exact up to 2^53). */
  varint(): number {
    const buf = this.buf;
    let b = buf[this.pos++]!;
    if (b === undefined) throw new Error('varint runs past the records');
    if (b < 0x80) return (b >>> 1) ^ -(b & 1);
    let raw = b & 0x7f;
    let mul = 128;
    for (;;) {
      if (this.pos >= buf.length) throw new Error('varint runs past the records');
      b = buf[this.pos++]!;
      raw += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 63) throw new Error('varint longer than 10 bytes');
    }
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  bytes(): Buffer | null {
    const len = this.varint();
    if (len < 0) return null;
    const start = this.pos;
    const end = start + len;
    if (end > this.buf.length) throw new Error('bytes field overruns the records');
    this.pos = end;
    return this.buf.subarray(start, end);
  }
}

/**
 * The offset after the last whole batch in `records` that ends at or after `fromOffset` (fromOffset when there is
 * none): where the next fetch starts, read from the batch headers alone, so it can go out before the records are
 * decoded. Decoding every batch ends at the same offset.
 */
export function nextFetchOffset(records: Buffer, fromOffset: bigint): bigint {
  let next = Number(fromOffset);
  for (const { pos } of batchPositions(records)) {
    const h = readBatchHeader(records, pos);
    next = Math.max(next, h.baseOffset + h.lastOffsetDelta + 1);
  }
  return BigInt(next);
}

/**
 * The records of one partition's Fetch answer, decoded a slice at a time as the application takes them. A slice
 * decoded just before it is handled dies young, where a whole 8 MB answer decoded at once (80,000 records of 100
 * bytes, each with its value's view) outlived the young generation and cost more in garbage collection than in
 * decoding; and a slice may end inside a batch, so a consumer decoding a batch of 8,000 records can let the next
 * answer's bytes in between slices instead of leaving the leader's writes blocked on a full socket.
 */
export class FetchedRecords {
  /** The offset after the records and batches decoded so far (the fetch offset before any): a consumer's position. */
  next: bigint;
  private readonly from: number;
  private readonly batches: Generator<{ pos: number; size: number }>;
  private readonly pending: AbortedTransaction[];
  private readonly abortedProducers = new Set<number>();
  private batch: OpenBatch | null = null;
  private finished = false;

  /** With `aborted` (read_committed), a producer's transactional batches are skipped from the first offset of an
   *  aborted transaction of its up to that transaction's ABORT marker (KIP-98, as the Java client's Fetcher). */
  constructor(
    readonly records: Buffer,
    fromOffset: bigint,
    aborted?: readonly AbortedTransaction[],
  ) {
    this.next = fromOffset;
    this.from = Number(fromOffset);
    this.batches = batchPositions(records);
    this.pending = aborted ? [...aborted].sort((a, b) => Number(a.firstOffset - b.firstOffset)) : [];
  }

  /** Every batch is decoded. */
  get done(): boolean {
    return this.finished;
  }

  /**
   * Appends the next records at or after the fetch offset to `out` until it holds `minRecords` or none is left.
   * Throws on records that do not parse (`next` then stays after the last record that did).
   */
  decode(out: DecodedRecord[], minRecords = Infinity): void {
    while (out.length < minRecords) {
      const b = this.batch ?? this.openBatch();
      if (b === null) {
        this.finished = true;
        return;
      }
      const had = out.length;
      decodeBatchRecords(b, this.from, out, minRecords);
      if (b.index === b.header.recordsCount) {
        this.batch = null;
        if (b.after > this.next) this.next = b.after;
      } else if (out.length > had) {
        const after = out[out.length - 1]!.offset + 1n;
        if (after > this.next) this.next = after;
      }
    }
  }

  /** The next batch with records to deliver, past the ones skipped (markers, aborted transactions); null at the end. */
  private openBatch(): OpenBatch | null {
    const { records, from, pending, abortedProducers } = this;
    for (;;) {
      const step = this.batches.next();
      if (step.done) return null;
      const pos = step.value.pos;
      const h = readBatchHeader(records, pos);
      const lastOffset = h.baseOffset + h.lastOffsetDelta;
      while (pending.length > 0 && Number(pending[0]!.firstOffset) <= lastOffset) abortedProducers.add(Number(pending.shift()!.producerId));
      if (lastOffset < from) continue;
      const after = BigInt(lastOffset + 1);
      const skipped = h.attributes & CONTROL_FLAG || (h.attributes & TRANSACTIONAL_FLAG && abortedProducers.has(h.producerId));
      if (h.attributes & CONTROL_FLAG && readTxnMarker(records, pos)?.type === 'ABORT') abortedProducers.delete(h.producerId);
      if (skipped) {
        if (after > this.next) this.next = after;
        continue;
      }
      this.batch = { header: h, cur: new Cursor(recordsBody(records, pos)), index: 0, base: BigInt(h.baseOffset), after };
      return this.batch;
    }
  }
}

/** A batch being decoded: its header, where its records are read, how many were. */
interface OpenBatch {
  header: ReturnType<typeof readBatchHeader>;
  cur: Cursor;
  index: number;
  base: bigint;
  /** The offset after the batch. */
  after: bigint;
}

/**
 * Appends the records at or after `fromOffset` of every whole batch in `records` to `out`, and returns the
 * offset after the last batch seen (fromOffset when there was none). Throws on records that do not parse.
 */
export function decodeRecords(records: Buffer, fromOffset: bigint, out: DecodedRecord[], aborted?: readonly AbortedTransaction[]): bigint {
  const fetched = new FetchedRecords(records, fromOffset, aborted);
  fetched.decode(out);
  return fetched.next;
}

/** Decodes the open batch's next records into `out`, until the batch ends or `out` holds `minRecords`. */
function decodeBatchRecords(b: OpenBatch, from: number, out: DecodedRecord[], minRecords: number): void {
  const h = b.header;
  const cur = b.cur;
  const logAppendTime = (h.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  while (b.index < h.recordsCount && out.length < minRecords) {
    const i = b.index;
    const length = cur.varint();
    const end = cur.pos + length;
    if (length < 0 || end > cur.buf.length) throw new Error(`record ${i} of the batch at offset ${h.baseOffset} overruns it`);
    cur.pos++; // attributes
    const timestampDelta = cur.varint();
    const delta = cur.varint();
    const key = cur.bytes();
    const value = cur.bytes();
    const headerCount = cur.varint();
    let headers = NO_HEADERS;
    if (headerCount > 0) {
      headers = [];
      for (let j = 0; j < headerCount; j++) {
        const hk = cur.bytes();
        if (hk === null) throw new Error(`record ${i} header ${j} has a null key`);
        headers.push({ key: hk.toString('utf8'), value: cur.bytes() });
      }
    }
    if (cur.pos !== end) throw new Error(`record ${i} of the batch at offset ${h.baseOffset}: fields do not fill its length`);
    b.index++;
    const offset = h.baseOffset + delta;
    if (offset < from) continue;
    const offsetBig = delta >= 0 && delta < SMALL_DELTAS.length ? b.base + SMALL_DELTAS[delta]! : BigInt(offset);
    out.push({ offset: offsetBig, key, value, headers, timestamp: logAppendTime ? h.maxTimestamp : h.baseTimestamp + timestampDelta });
  }
}
