// Zstandard as Kafka uses it (compression type 4, KIP-110, record batches v2 only): a standard zstd frame.
// Decompression is fzstd (pure JavaScript), which also reads frames without a content size, as the Java
// client's streaming ZstdOutputStream writes them. Compression is the reference C library compiled to WASM,
// shipped inside the @bokuweb/zstd-wasm package (nothing is downloaded at install). Its instance is the
// package's own, one per process, and holds no state between calls; it is instantiated once when this module
// is first imported (top-level await), so compressing stays synchronous like the other codecs.
import { decompress as fzstdDecompress } from 'fzstd';
import * as zstdWasm from '@bokuweb/zstd-wasm';

/** librdkafka's and the Java client's default level. */
const LEVEL = 3;

await zstdWasm.init();

export function zstdCompress(data: Buffer): Buffer {
  const out = zstdWasm.compress(data, LEVEL);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Decompresses one or more concatenated zstd frames; throws on corrupt input. */
export function zstdDecompress(data: Buffer): Buffer {
  const out = fzstdDecompress(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
