// Zigzag variable-length integers, as Kafka's record format (and flexible protocol versions) encode them.
//
// varint is a zigzag int32 in up to 5 bytes; varlong a zigzag int64 in up to 10. Record fields are read as
// plain numbers: varints with 32-bit operations, varlongs with float arithmetic so every safe integer
// (|v| <= 2^53 - 1, e.g. timestamp deltas) is exact. Readers advance a caller-owned cursor instead of
// returning tuples so the record-parsing loop allocates nothing per field.

/** A read position that the read functions advance. */
export interface ByteCursor {
  pos: number;
}

/** Thrown on a varint that runs past the buffer or past its maximum length. */
export class VarintError extends Error {
  readonly code = 'VARINT_INVALID';
  constructor(message: string, readonly pos: number) {
    super(message);
    this.name = 'VarintError';
  }
}

/** Reads a zigzag varint (int32). */
export function readVarint(buf: Uint8Array, cur: ByteCursor): number {
  let pos = cur.pos;
  let raw = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new VarintError('varint runs past the end of the buffer', cur.pos);
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new VarintError('varint longer than 5 bytes', cur.pos);
  }
  cur.pos = pos;
  return (raw >>> 1) ^ -(raw & 1);
}

/**
 * Reads a zigzag varlong (int64) as a number: exact for safe integers. Encodings up to 7 bytes (|v| < 2^48,
 * every realistic timestamp delta) take a float fast path; longer ones go through bigint, because the
 * zigzag value of a large safe integer itself exceeds 2^53.
 */
export function readVarlong(buf: Uint8Array, cur: ByteCursor): number {
  let pos = cur.pos;
  let raw = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= buf.length) throw new VarintError('varlong runs past the end of the buffer', cur.pos);
    const b = buf[pos++]!;
    raw += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      cur.pos = pos;
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    mul *= 128;
  }
  let big = BigInt(raw);
  let shift = 49n;
  for (let i = 7; ; i++) {
    if (i >= 10) throw new VarintError('varlong longer than 10 bytes', cur.pos);
    if (pos >= buf.length) throw new VarintError('varlong runs past the end of the buffer', cur.pos);
    const b = buf[pos++]!;
    big |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7n;
  }
  cur.pos = pos;
  big = BigInt.asUintN(64, big);
  return Number((big >> 1n) ^ -(big & 1n));
}

/** Writes a zigzag varint (int32) at pos; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Largest magnitude whose zigzag value (2|v|) is still an exact float. */
const FAST_VARLONG_LIMIT = 2 ** 52;

function zigzag64(value: number): bigint {
  const v = BigInt(value);
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

/** Writes a zigzag varlong (int64, given as a safe integer) at pos; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if (value > FAST_VARLONG_LIMIT || value < -FAST_VARLONG_LIMIT) {
    let z = zigzag64(value);
    while (z >= 0x80n) {
      buf[pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    buf[pos++] = Number(z);
    return pos;
  }
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Encoded size in bytes of a zigzag varint. */
export function varintSize(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

/** Encoded size in bytes of a zigzag varlong. */
export function varlongSize(value: number): number {
  if (value > FAST_VARLONG_LIMIT || value < -FAST_VARLONG_LIMIT) {
    let z = zigzag64(value);
    let n = 1;
    while (z >= 0x80n) {
      z >>= 7n;
      n++;
    }
    return n;
  }
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
