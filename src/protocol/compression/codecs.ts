// The record-batch compression codecs (the attributes' low three bits: 0 none, 1 gzip, 2 snappy, 3 lz4,
// 4 zstd), one compress/decompress pair per codec, used by the batch reader and builder, the log cleaner,
// message format v0/v1 conversion and Kastor's producer. Every codec is JavaScript or WASM shipped in an npm
// package: no native module, nothing fetched at install time. A corrupt body raises CodecError; the callers
// turn it into CORRUPT_MESSAGE with the batch's position.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { CompressionCodec } from '../record-batch-layout.ts';
import { lz4Compress, lz4Decompress } from './lz4-frame.ts';
import { snappyCompress, snappyDecompress } from './snappy.ts';
import { zstdCompress, zstdDecompress } from './zstd.ts';

export class CodecError extends Error {
  readonly code = 'CODEC_ERROR';
  constructor(readonly codec: CompressionCodec, options?: { cause?: unknown }) {
    super(`${codec} records body does not decompress`, options);
    this.name = 'CodecError';
  }
}

interface Codec {
  compress(data: Buffer): Buffer;
  decompress(data: Buffer): Buffer;
}

const CODECS: Record<Exclude<CompressionCodec, 'none'>, Codec> = {
  gzip: { compress: (d) => gzipSync(d), decompress: (d) => gunzipSync(d) },
  snappy: { compress: snappyCompress, decompress: snappyDecompress },
  lz4: { compress: lz4Compress, decompress: lz4Decompress },
  zstd: { compress: zstdCompress, decompress: zstdDecompress },
};

export function compress(codec: CompressionCodec, data: Buffer): Buffer {
  return codec === 'none' ? data : CODECS[codec].compress(data);
}

export function decompress(codec: CompressionCodec, data: Buffer): Buffer {
  if (codec === 'none') return data;
  try {
    return CODECS[codec].decompress(data);
  } catch (cause) {
    throw new CodecError(codec, { cause });
  }
}
