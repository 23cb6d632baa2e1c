// Shared helpers for the partition-log tests: batches with known contents and temp directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecordBatch, readRecords } from '../../src/protocol/record-batch.ts';
import type { MemoryStorage } from '../../src/log/memory-storage.ts';

/** A batch of `count` records whose values are `${tag}-${i}`, all stamped `timestamp`. */
export function batchOf(tag: string, count: number, timestamp = 1_000, valueBytes = 0): Buffer {
  return buildRecordBatch({
    timestamp,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: `${tag}-${i}`.padEnd(valueBytes, '.') })),
  });
}

/** Every record's (offset, value) in a concatenation of batches. */
export function recordsIn(data: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let p = 0;
  while (p < data.length) {
    const size = data.readInt32BE(p + 8) + 12;
    for (const r of readRecords(data.subarray(p, p + size))) out.push([r.offset, r.value!.toString()]);
    p += size;
  }
  return out;
}

/** A fresh directory under os.tmpdir(); call the returned cleanup in finally. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `kastor-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts that fn rejects with an error matching check (uvu has no async rejects). */
export async function rejects(fn: () => Promise<unknown>, check: (e: unknown) => boolean, message = 'expected a rejection'): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`${message}: it resolved`);
  if (!check(error)) throw new Error(`${message}: wrong error ${String(error)}`, { cause: error });
}

/** Counts the bytes that reads of `.log` files opened through `storage` from now on return (patches its open). */
export function countLogReads(storage: MemoryStorage): () => number {
  let bytes = 0;
  const open = storage.open.bind(storage);
  storage.open = async (path, options) => {
    const file = await open(path, options);
    if (path.endsWith('.log')) {
      const read = file.read.bind(file);
      file.read = async (position, length) => {
        const b = await read(position, length);
        bytes += b.length;
        return b;
      };
    }
    return file;
  };
  return () => bytes;
}
