// Writes Kafka wire primitives into a growing list of buffers.
//
// Small values go into a scratch buffer; when it fills, the written part is kept as a chunk and a bigger
// scratch buffer is started, so nothing already written is copied again. A large Buffer (a Fetch response's
// records) is kept by reference as its own chunk, so `finish()` copies it exactly once, into the output.
// The caller must therefore not modify a buffer passed to `raw`/`bytes` before `finish()`.
import { ProtocolError } from './protocol-error.ts';
import type { TaggedField } from './codec-support.ts';

/** Buffers at least this large are referenced instead of copied into the scratch buffer. */
const REFERENCE_THRESHOLD = 1024;

export class Writer {
  private chunks: Buffer[] = [];
  private chunksLength = 0;
  private buf: Buffer;
  private start = 0;
  private pos = 0;
  /**
   * Kafka's rule: a non-ignorable field with a non-default value that the chosen version cannot carry is an
   * error (a request must not silently lose meaning). A broker's response is built for every version from one
   * view of the state, so responses turn this off and simply leave out what an older version cannot say.
   */
  strict = true;

  constructor(initialSize = 512) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Encodes with a fresh Writer and returns the bytes (used for tagged fields, whose size precedes them). */
  static encode(write: (w: Writer) => void): Buffer {
    const w = new Writer(64);
    write(w);
    return w.finish();
  }

  /** Bytes written so far. */
  get length(): number {
    return this.chunksLength + (this.pos - this.start);
  }

  private flushScratch(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.chunksLength += this.pos - this.start;
    }
    this.start = this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flushScratch();
    this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    this.start = this.pos = 0;
  }

  /** The bytes written, as one Buffer (a view of the scratch buffer when everything fit in it). */
  finish(): Buffer {
    if (this.chunks.length === 0) return this.buf.subarray(this.start, this.pos);
    this.flushScratch();
    return Buffer.concat(this.chunks, this.chunksLength);
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** A UUID given as 32 hex digits. */
  uuid(v: string): void {
    if (v.length !== 32 || !/^[0-9a-fA-F]{32}$/.test(v)) {
      throw new ProtocolError('UNREPRESENTABLE_VALUE', `uuid must be 32 hex digits, got ${JSON.stringify(v)}`);
    }
    this.ensure(16);
    this.buf.write(v, this.pos, 16, 'hex');
    this.pos += 16;
  }

  uvarint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** Bytes copied into the output (by reference until finish() when large). */
  raw(b: Buffer): void {
    if (b.length >= REFERENCE_THRESHOLD) {
      this.flushScratch();
      this.chunks.push(b);
      this.chunksLength += b.length;
      return;
    }
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** A length prefix: -1/0 for null, classic int16/int32 or compact uvarint length+1. */
  private lengthPrefix(n: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(n + 1);
    else if (wide) this.int32(n);
    else this.int16(n);
  }

  nullableString(v: string | null, compact: boolean): void {
    if (v === null) return this.lengthPrefix(-1, compact, false);
    const n = Buffer.byteLength(v, 'utf8');
    if (!compact && n > 0x7fff) throw new ProtocolError('UNREPRESENTABLE_VALUE', `string of ${n} bytes exceeds int16 length`);
    this.lengthPrefix(n, compact, false);
    this.ensure(n);
    this.buf.write(v, this.pos, n, 'utf8');
    this.pos += n;
  }

  string(v: string, compact: boolean): void {
    if (v === null || v === undefined) throw new ProtocolError('UNREPRESENTABLE_VALUE', 'null in a non-nullable string');
    this.nullableString(v, compact);
  }

  nullableBytes(v: Buffer | null, compact: boolean): void {
    if (v === null) return this.lengthPrefix(-1, compact, true);
    this.lengthPrefix(v.length, compact, true);
    this.raw(v);
  }

  bytes(v: Buffer, compact: boolean): void {
    if (v === null || v === undefined) throw new ProtocolError('UNREPRESENTABLE_VALUE', 'null in non-nullable bytes');
    this.nullableBytes(v, compact);
  }

  nullableArray<T>(v: readonly T[] | null, compact: boolean, writeElement: (w: Writer, e: T) => void): void {
    if (v === null) return this.lengthPrefix(-1, compact, true);
    this.lengthPrefix(v.length, compact, true);
    for (let i = 0; i < v.length; i++) writeElement(this, v[i]!);
  }

  array<T>(v: readonly T[], compact: boolean, writeElement: (w: Writer, e: T) => void): void {
    if (v === null || v === undefined) throw new ProtocolError('UNREPRESENTABLE_VALUE', 'null in a non-nullable array');
    this.nullableArray(v, compact, writeElement);
  }

  /** The tagged-field section: known and preserved unknown fields, merged in increasing tag order. */
  taggedFields(known: TaggedField[] | undefined, unknown: readonly TaggedField[] | undefined): void {
    let fields: readonly TaggedField[] = known ?? [];
    if (unknown && unknown.length > 0) fields = [...fields, ...unknown].sort((a, b) => a.tag - b.tag);
    this.uvarint(fields.length);
    for (const f of fields) {
      this.uvarint(f.tag);
      this.uvarint(f.data.length);
      this.raw(f.data);
    }
  }
}
