// A segment's sparse offset index (`.index`): Kafka's layout of 8-byte entries, relative offset uint32 +
// byte position uint32, one per indexIntervalBytes of log. Here an entry's offset is the base offset of
// the batch starting at that position, so "last entry <= target, then scan forward" finds the batch
// containing any offset.

import type { StorageFile } from './storage.ts';
import { SparseIndex } from './sparse-index.ts';

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex {
  private readonly idx: SparseIndex;

  constructor(readonly baseOffset: number, file: StorageFile, readonly path: string) {
    this.idx = new SparseIndex(file, path, {
      size: OFFSET_INDEX_ENTRY_SIZE,
      encode: (buf, pos, key, value) => {
        buf.writeUInt32BE(key, pos);
        buf.writeUInt32BE(value, pos + 4);
      },
      decodeKey: (buf, pos) => buf.readUInt32BE(pos),
      decodeValue: (buf, pos) => buf.readUInt32BE(pos + 4),
    });
  }

  get file(): StorageFile {
    return this.idx.file;
  }
  get length(): number {
    return this.idx.length;
  }

  append(offset: number, position: number): void {
    this.idx.append(offset - this.baseOffset, position);
  }

  /** Byte position of the last indexed batch starting at or before offset (0 when none is). */
  lookup(offset: number): number {
    const i = this.idx.floor(offset - this.baseOffset);
    return i < 0 ? 0 : this.idx.values[i]!;
  }

  /** The last entry at or before offset, as absolute offset and position. */
  floorEntry(offset: number): { offset: number; position: number } | null {
    const i = this.idx.floor(offset - this.baseOffset);
    return i < 0 ? null : { offset: this.baseOffset + this.idx.keys[i]!, position: this.idx.values[i]! };
  }

  /** The last entry as absolute offset and position. */
  last(): { offset: number; position: number } | null {
    const n = this.idx.length;
    return n === 0 ? null : { offset: this.baseOffset + this.idx.keys[n - 1]!, position: this.idx.values[n - 1]! };
  }

  /** Drops entries pointing at or past position. */
  truncateToPosition(position: number): void {
    let n = this.idx.length;
    while (n > 0 && this.idx.values[n - 1]! >= position) n--;
    this.idx.truncateTo(n);
  }

  clear(): void {
    this.idx.clear();
  }

  persist(): Promise<void> {
    return this.idx.persist();
  }

  load(logSize: number): Promise<string | null> {
    return this.idx.load(Math.max(logSize, 1), true);
  }
}
