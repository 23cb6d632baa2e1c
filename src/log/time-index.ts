// A segment's sparse time index (`.timeindex`): Kafka's 12-byte entries, timestamp int64 + relative
// offset uint32. Each entry is (largest timestamp so far in the segment, base offset of the batch that
// holds it), so every record before that batch has a timestamp <= the entry's. To find the first record
// with timestamp >= T, start scanning at the last entry whose timestamp is strictly below T.

import type { StorageFile } from './storage.ts';
import { SparseIndex } from './sparse-index.ts';
import { readInt64, writeInt64 } from '../protocol/record-batch-layout.ts';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex {
  private readonly idx: SparseIndex;

  constructor(readonly baseOffset: number, file: StorageFile, readonly path: string) {
    this.idx = new SparseIndex(file, path, {
      size: TIME_INDEX_ENTRY_SIZE,
      encode: (buf, pos, key, value) => {
        writeInt64(buf, pos, key);
        buf.writeUInt32BE(value, pos + 8);
      },
      decodeKey: (buf, pos) => readInt64(buf, pos),
      decodeValue: (buf, pos) => buf.readUInt32BE(pos + 8),
    });
  }

  get file(): StorageFile {
    return this.idx.file;
  }
  get length(): number {
    return this.idx.length;
  }

  /** Adds an entry when timestamp is a new maximum for the segment. */
  maybeAppend(timestamp: number, offset: number): void {
    const n = this.idx.length;
    if (n > 0 && timestamp <= this.idx.keys[n - 1]!) return;
    this.idx.append(timestamp, offset - this.baseOffset);
  }

  /** Offset to start scanning from for the first record with timestamp >= ts. */
  lookup(ts: number): number {
    const i = this.idx.floor(ts, true);
    return i < 0 ? this.baseOffset : this.baseOffset + this.idx.values[i]!;
  }

  lastTimestamp(): number | null {
    const n = this.idx.length;
    return n === 0 ? null : this.idx.keys[n - 1]!;
  }

  /** Drops entries for batches at or past offset. */
  truncateToOffset(offset: number): void {
    let n = this.idx.length;
    while (n > 0 && this.baseOffset + this.idx.values[n - 1]! >= offset) n--;
    this.idx.truncateTo(n);
  }

  clear(): void {
    this.idx.clear();
  }

  persist(): Promise<void> {
    return this.idx.persist();
  }

  load(segmentOffsetSpan: number): Promise<string | null> {
    return this.idx.load(Math.max(segmentOffsetSpan, 1), false);
  }
}
