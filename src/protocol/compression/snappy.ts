// Snappy as Kafka uses it (compression type 2). The Java client writes snappy-java's SnappyOutputStream
// ("xerial" framing: the 16-byte header `\x82SNAPPY\0`, version 1, compatible version 1, then chunks of a
// 4-byte big-endian length and one raw snappy block); librdkafka writes one raw snappy block. Kafka readers
// accept both (snappy-java's SnappyInputStream falls back to raw data without the header), so Kastor reads
// both and writes xerial framing, as the Java client does. Pure JavaScript (snappyjs): nothing native.
import { createRequire } from 'node:module';

// snappyjs ships no types: required through createRequire with the two functions Kastor calls.
const snappyjs = createRequire(import.meta.url)('snappyjs') as {
  compress(input: Uint8Array): Uint8Array;
  uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
};

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
/** snappy-java's default block size for SnappyOutputStream. */
const XERIAL_BLOCK = 32 * 1024;

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

export function snappyCompress(data: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK) {
    const block = asBuffer(snappyjs.compress(new Uint8Array(data.buffer, data.byteOffset + pos, Math.min(XERIAL_BLOCK, data.length - pos))));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

/** Decompresses xerial-framed or raw snappy; throws on corrupt input. */
export function snappyDecompress(data: Buffer): Buffer {
  if (!isXerialFramed(data)) return asBuffer(snappyjs.uncompress(toUint8(data)));
  const out: Buffer[] = [];
  let pos = XERIAL_HEADER_SIZE;
  // Each chunk is at least 4 bytes, so the loop is bounded by the input's length.
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error(`xerial snappy chunk length cut off at byte ${pos}`);
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > data.length) throw new Error(`xerial snappy chunk of ${len} bytes at byte ${pos - 4} runs past the end`);
    out.push(asBuffer(snappyjs.uncompress(toUint8(data.subarray(pos, pos + len)))));
    pos += len;
  }
  return Buffer.concat(out);
}

/** snappyjs treats a Buffer as a Node Buffer and a Uint8Array as one; hand it a plain view either way. */
function toUint8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
