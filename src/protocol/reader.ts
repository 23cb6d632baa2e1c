// Reads Kafka wire primitives from a Buffer at a moving offset.
//
// Every length read from the wire is checked against the bytes actually left before anything is
// allocated, so a hostile length field costs a ProtocolError, never a huge allocation: a string, a bytes
// field or an array can never claim more than the frame holds. `bytes()` returns a view into the frame
// (zero copy: a Produce request's records stay where the socket put them).
import { ProtocolError } from './protocol-error.ts';
import type { TaggedField } from './codec-support.ts';

export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    this.pos = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  malformed(message: string, position = this.pos): ProtocolError {
    return new ProtocolError('MALFORMED_FRAME', message, { position });
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) throw this.malformed(`${what} needs ${n} bytes, ${this.end - this.pos} left`);
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    // Any non-zero byte is true, as Kafka's readers do.
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A UUID as 32 lowercase hex digits. */
  uuid(): string {
    this.need(16, 'uuid');
    const v = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** Unsigned varint of at most 32 bits (5 bytes), as flexible versions use for lengths and tags. */
  uvarint(): number {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw this.malformed('unsigned varint runs past the end', start);
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) break;
        return value;
      }
    }
    throw this.malformed('unsigned varint longer than 32 bits', start);
  }

  /** A length prefix: int16/int32 classic (-1 = null) or compact uvarint (0 = null); checked against what is left. */
  private length(compact: boolean, wide: boolean, what: string): number {
    const start = this.pos;
    const n = compact ? this.uvarint() - 1 : wide ? this.int32() : this.int16();
    if (n < -1) throw this.malformed(`negative ${what} length ${n}`, start);
    if (n > this.end - this.pos) throw this.malformed(`${what} length ${n} exceeds the ${this.end - this.pos} bytes left`, start);
    return n;
  }

  nullableString(compact: boolean): string | null {
    const n = this.length(compact, false, 'string');
    if (n < 0) return null;
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  string(compact: boolean): string {
    const start = this.pos;
    const v = this.nullableString(compact);
    if (v === null) throw this.malformed('null in a non-nullable string', start);
    return v;
  }

  /** Bytes as a view into the underlying buffer (no copy). */
  nullableBytes(compact: boolean): Buffer | null {
    const n = this.length(compact, true, 'bytes');
    if (n < 0) return null;
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  bytes(compact: boolean): Buffer {
    const start = this.pos;
    const v = this.nullableBytes(compact);
    if (v === null) throw this.malformed('null in non-nullable bytes', start);
    return v;
  }

  /**
   * An array; each element is read by `readElement`. The count is bounded by the bytes left (every element
   * takes at least one byte), and elements are pushed as they parse, so a lying count fails fast.
   */
  nullableArray<T>(compact: boolean, readElement: (r: Reader) => T): T[] | null {
    const n = this.length(compact, true, 'array');
    if (n < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(readElement(this));
    return out;
  }

  array<T>(compact: boolean, readElement: (r: Reader) => T): T[] {
    const start = this.pos;
    const v = this.nullableArray(compact, readElement);
    if (v === null) throw this.malformed('null in a non-nullable array', start);
    return v;
  }

  /**
   * The tagged-field section of a flexible struct. `readKnown` gets each field's tag and a Reader bounded to
   * its bytes and returns false for tags it does not know; those are returned (copied) to be kept on the object.
   * As lenient as Kafka's generated readers: tags are taken in any order, and bytes a known field's reader
   * leaves unread are skipped (the field's size prefix says where the next one starts).
   */
  taggedFields(readKnown: (tag: number, r: Reader) => boolean): TaggedField[] | undefined {
    const count = this.uvarint();
    let unknown: TaggedField[] | undefined;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const sizeAt = this.pos;
      const size = this.uvarint();
      if (size > this.end - this.pos) throw this.malformed(`tagged field size ${size} exceeds the ${this.end - this.pos} bytes left`, sizeAt);
      const field = new Reader(this.buf, this.pos, this.pos + size);
      this.pos += size;
      if (!readKnown(tag, field)) (unknown ??= []).push({ tag, data: Buffer.from(field.buf.subarray(field.pos, field.end)) });
    }
    return unknown;
  }

  /** Throws unless every byte was consumed. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) throw this.malformed(`${this.end - this.pos} trailing bytes after ${what}`);
  }
}
