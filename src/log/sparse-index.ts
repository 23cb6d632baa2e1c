// The sorted, sparse, append-only (key → value) file behind both segment indexes, held in memory for
// binary search and persisted lazily: new entries are written by persist() (at flush, roll and close),
// not on the append path, because an index is rebuilt from the log whenever it is missing or doubtful.

import type { StorageFile } from './storage.ts';

export interface EntryCodec {
  size: number;
  encode(buf: Buffer, pos: number, key: number, value: number): void;
  decodeKey(buf: Buffer, pos: number): number;
  decodeValue(buf: Buffer, pos: number): number;
}

export class SparseIndex {
  keys: number[] = [];
  values: number[] = [];
  /** Entries [0, persisted) are in the file. */
  private persisted = 0;
  /** The file holds more entries than memory (after a truncation) and must be cut first. */
  private fileTooLong = false;
  /** Truncations so far: a persist that a truncation overtook leaves its entries to be cut. */
  private truncations = 0;

  constructor(readonly file: StorageFile, readonly path: string, private readonly codec: EntryCodec) {}

  get length(): number {
    return this.keys.length;
  }

  append(key: number, value: number): void {
    this.keys.push(key);
    this.values.push(value);
  }

  /** Index of the last entry whose key <= k (or < k when strict), -1 if none. */
  floor(k: number, strict = false): number {
    let lo = 0;
    let hi = this.keys.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const key = this.keys[mid]!;
      if (strict ? key < k : key <= k) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Keeps the first n entries. */
  truncateTo(n: number): void {
    if (n >= this.keys.length) return;
    this.truncations++;
    this.keys.length = n;
    this.values.length = n;
    if (this.persisted > n) {
      this.persisted = n;
      this.fileTooLong = true;
    }
  }

  clear(): void {
    this.truncateTo(0);
    this.fileTooLong = true;
  }

  async persist(): Promise<void> {
    if (this.fileTooLong) {
      await this.file.truncate(this.persisted * this.codec.size);
      this.fileTooLong = false;
    }
    const from = this.persisted;
    const upTo = this.keys.length;
    if (upTo <= from) return;
    const truncations = this.truncations;
    const buf = Buffer.allocUnsafe((upTo - from) * this.codec.size);
    for (let i = from; i < upTo; i++) this.codec.encode(buf, (i - from) * this.codec.size, this.keys[i]!, this.values[i]!);
    await this.file.write(buf, from * this.codec.size);
    // Entries appended during the write are not in the file yet; entries truncated during it are, and must go.
    if (this.truncations === truncations) this.persisted = upTo;
    else this.fileTooLong = true;
  }

  /**
   * Loads the file. Returns a reason when it cannot be trusted (bad size, keys or values going backwards,
   * values past limit); the caller then rebuilds it from the log.
   */
  async load(valueLimit: number, strictKeys: boolean): Promise<string | null> {
    const size = await this.file.size();
    if (size % this.codec.size !== 0) return `size ${size} is not a multiple of ${this.codec.size}`;
    const buf = await this.file.read(0, size);
    const keys: number[] = [];
    const values: number[] = [];
    for (let p = 0; p < size; p += this.codec.size) {
      const k = this.codec.decodeKey(buf, p);
      const v = this.codec.decodeValue(buf, p);
      const n = keys.length;
      if (n > 0 && (strictKeys ? k <= keys[n - 1]! : k < keys[n - 1]!)) return `key ${k} at entry ${n} goes backwards`;
      if (n > 0 && v < values[n - 1]!) return `value ${v} at entry ${n} goes backwards`;
      if (v >= valueLimit) return `value ${v} at entry ${n} is past ${valueLimit}`;
      keys.push(k);
      values.push(v);
    }
    this.keys = keys;
    this.values = values;
    this.persisted = keys.length;
    this.fileTooLong = false;
    return null;
  }
}
