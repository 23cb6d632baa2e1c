// LZ4 as Kafka uses it (compression type 3): the LZ4 frame format with independent 64 KB blocks and no
// checksums besides the frame descriptor's, as Kafka's KafkaLZ4BlockOutputStream writes. KIP-57: from
// message format v1 on the descriptor checksum (HC) is xxh32 of the descriptor alone; v0 message sets carry
// the broken HC that also covers the frame's magic number, and Kafka still writes that one for v0
// (useBrokenFlagDescriptorChecksum), so does Kastor when asked. Reading never checks the HC (Java ignores it
// for v0, librdkafka repairs it), so both forms are read. Pure JavaScript (lz4js): nothing native.
import { createRequire } from 'node:module';

// lz4js ships no types: required through createRequire with the functions Kastor calls.
const require = createRequire(import.meta.url);
const lz4js = require('lz4js') as {
  compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  compressBound(n: number): number;
  decompress(src: Uint8Array, maxSize?: number): Uint8Array;
};
const xxhash = require('lz4js/xxh32.js') as { hash(seed: number, src: Uint8Array, index: number, length: number): number };

/** xxHash32 of src[index, index + length) (the frame's header checksum is its second byte). */
export function xxh32(seed: number, src: Uint8Array, index: number, length: number): number {
  return xxhash.hash(seed, src, index, length);
}

const MAGIC = 0x184d2204;
/** FLG: version 01, block independence. */
const FLG = 0x60;
/** BD: maximum block size 64 KB (code 4), Kafka's default. */
const BD = 4 << 4;
const BLOCK = 64 * 1024;
const UNCOMPRESSED_BLOCK = 0x80000000;

/** brokenHeaderChecksum: the pre-KIP-57 HC, for message format v0 only. */
export function lz4Compress(data: Buffer, brokenHeaderChecksum = false): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(7);
  header.writeUInt32LE(MAGIC, 0);
  header[4] = FLG;
  header[5] = BD;
  header[6] = (brokenHeaderChecksum ? xxh32(0, header, 0, 6) >>> 8 : xxh32(0, header, 4, 2) >>> 8) & 0xff;
  parts.push(header);
  const dst = new Uint8Array(lz4js.compressBound(BLOCK));
  for (let pos = 0; pos < data.length; pos += BLOCK) {
    const block = data.subarray(pos, Math.min(pos + BLOCK, data.length));
    // A fresh hash table per block keeps blocks independent (no match reaches into the previous block).
    const n = lz4js.compressBlock(block, dst, 0, block.length, new Uint32Array(1 << 16));
    const size = Buffer.alloc(4);
    if (n === 0 || n >= block.length) {
      size.writeUInt32LE((UNCOMPRESSED_BLOCK | block.length) >>> 0, 0);
      parts.push(size, Buffer.from(block));
    } else {
      size.writeUInt32LE(n, 0);
      parts.push(size, Buffer.from(dst.subarray(0, n)));
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

/** Decompresses one LZ4 frame (blocks dependent or not, checksums present or not); throws on corrupt input. */
export function lz4Decompress(data: Buffer): Buffer {
  if (data.length < 7 || data.readUInt32LE(0) !== MAGIC) throw new Error('not an LZ4 frame (bad magic number)');
  const out = lz4js.decompress(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
