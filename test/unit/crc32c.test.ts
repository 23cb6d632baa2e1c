// CRC-32C against published vectors (RFC 3720 appendix B.4) and a bit-at-a-time reference on random
// slices, so the slicing-by-8 tables and the unaligned head/tail handling are both covered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32c, crc32cJs, crc32cNative, NATIVE_MIN_BYTES } from '../../src/protocol/crc32c.ts';

function reference(buf: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc ^= buf[i]!;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('standard check value and RFC 3720 vectors', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.is(crc32c(new Uint8Array(0)), 0);
  assert.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('result is unsigned', () => {
  const v = crc32c(Buffer.from('123456789'));
  assert.ok(v > 0x7fffffff);
});

test('start/end select a slice; matches the bitwise reference on random data', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const buf = Uint8Array.from({ length: 4096 }, rnd);
  for (let i = 0; i < 200; i++) {
    const a = rnd() * 7 % 2000;
    const b = a + ((rnd() * 13) % 2000);
    assert.is(crc32c(buf, a, b), reference(buf, a, b), `slice [${a}, ${b})`);
  }
  const framed = Buffer.concat([Buffer.from('xx'), Buffer.from('123456789'), Buffer.from('yyy')]);
  assert.is(crc32c(framed, 2, 11), 0xe3069283);
});

test('the native implementation loads here (CI installs its prebuilt binary), and both paths agree across the size threshold', () => {
  assert.ok(crc32cNative, '@node-rs/crc32 did not load: CRC-32C runs in JavaScript only');
  let seed = 777;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const buf = Uint8Array.from({ length: 70_000 }, rnd);
  for (const len of [0, 1, NATIVE_MIN_BYTES - 1, NATIVE_MIN_BYTES, NATIVE_MIN_BYTES + 7, 4096, 65_536, 69_999]) {
    for (const start of [0, 1, 3]) {
      const end = Math.min(start + len, buf.length);
      assert.is(crc32c(buf, start, end), crc32cJs(buf, start, end), `[${start}, ${end})`);
      assert.is(crc32c(buf, start, end), reference(buf, start, end), `[${start}, ${end}) against the reference`);
    }
  }
});

test.run();
