// Zigzag varint/varlong: Kafka's encodings of known values, round trips at the edges, and truncation errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  readVarint, readVarlong, writeVarint, writeVarlong, varintSize, varlongSize, VarintError,
} from '../../src/protocol/varint.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('known zigzag encodings', () => {
  const enc = (v: number) => { const b = new Uint8Array(5); return hex(b.subarray(0, writeVarint(b, 0, v))); };
  assert.is(enc(0), '00');
  assert.is(enc(-1), '01');
  assert.is(enc(1), '02');
  assert.is(enc(-64), '7f');
  assert.is(enc(64), '8001');
  assert.is(enc(300), 'd804');
  assert.is(enc(2147483647), 'feffffff0f');
  assert.is(enc(-2147483648), 'ffffffff0f');
});

test('varint round trips, including -1 lengths and int32 extremes', () => {
  const values = [0, 1, -1, 63, -64, 64, -65, 127, 128, 8191, 8192, 1 << 20, -(1 << 20), 2147483647, -2147483648];
  for (const v of values) {
    const b = new Uint8Array(5);
    const end = writeVarint(b, 0, v);
    assert.is(end, varintSize(v), `size of ${v}`);
    const cur = { pos: 0 };
    assert.is(readVarint(b, cur), v);
    assert.is(cur.pos, end);
  }
});

test('varlong round trips for safe integers and negatives', () => {
  const values = [0, -1, 1, 1700000000000, -1700000000000, 2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
  for (const v of values) {
    const b = new Uint8Array(10);
    const end = writeVarlong(b, 0, v);
    assert.is(end, varlongSize(v), `size of ${v}`);
    const cur = { pos: 0 };
    assert.is(readVarlong(b, cur), v, `value ${v}`);
    assert.is(cur.pos, end);
  }
  // -1 as a varlong is the same single byte as a varint.
  const b = new Uint8Array(10);
  assert.is(hex(b.subarray(0, writeVarlong(b, 0, -1))), '01');
  // A 64-bit max-ish value written by a Java client: 2^53 zigzagged = 2^54 in 8 bytes.
  assert.is(readVarlong(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]), { pos: 0 }), 2 ** 53);
});

test('reads from a cursor in the middle of a buffer', () => {
  const b = new Uint8Array(16);
  let p = writeVarint(b, 3, 300);
  p = writeVarlong(b, p, -5);
  const cur = { pos: 3 };
  assert.is(readVarint(b, cur), 300);
  assert.is(readVarlong(b, cur), -5);
  assert.is(cur.pos, p);
});

test('truncated and overlong encodings throw VarintError', () => {
  assert.throws(() => readVarint(Uint8Array.from([0x80, 0x80]), { pos: 0 }), (e: unknown) => e instanceof VarintError && e.code === 'VARINT_INVALID');
  assert.throws(() => readVarint(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), { pos: 0 }), (e: unknown) => e instanceof VarintError);
  assert.throws(() => readVarlong(new Uint8Array(11).fill(0x80), { pos: 0 }), (e: unknown) => e instanceof VarintError);
  assert.throws(() => readVarlong(Uint8Array.from([0xff]), { pos: 0 }), (e: unknown) => e instanceof VarintError);
});

test.run();
