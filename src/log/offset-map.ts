// The log cleaner's offset map: key bytes → the latest offset seen for that key (Kafka's SkimpyOffsetMap).
// Kafka stores an MD5 of each key in a fixed buffer and accepts the (negligible) chance of a collision; this
// one stores the key bytes themselves in an arena and compares them on a hash match, so it is exact. Open
// addressing with linear probing over typed arrays: no object or string per key, which is what made the map
// pass of a cleaning cost more than its I/O.

const EMPTY = -1;

export class OffsetMap {
  private capacity = 1 << 12;
  private hashes = new Int32Array(this.capacity);
  private keyPos = new Int32Array(this.capacity).fill(EMPTY);
  private keyLen = new Int32Array(this.capacity);
  private offsets = new Float64Array(this.capacity);
  private arena = Buffer.allocUnsafe(1 << 16);
  private arenaUsed = 0;
  size = 0;

  /** Records offset as the latest for the key buf[start, start + length). */
  set(buf: Buffer, start: number, length: number, offset: number): void {
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const h = hashOf(buf, start, length);
    const mask = this.capacity - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const at = this.keyPos[i]!;
      if (at === EMPTY) {
        this.hashes[i] = h;
        this.keyPos[i] = this.store(buf, start, length);
        this.keyLen[i] = length;
        this.offsets[i] = offset;
        this.size++;
        return;
      }
      if (this.hashes[i] === h && this.keyLen[i] === length && this.sameKey(at, buf, start, length)) {
        this.offsets[i] = offset;
        return;
      }
    }
  }

  /** The latest offset of the key buf[start, start + length), or -1 when the map does not hold it. */
  get(buf: Buffer, start: number, length: number): number {
    const h = hashOf(buf, start, length);
    const mask = this.capacity - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const at = this.keyPos[i]!;
      if (at === EMPTY) return -1;
      if (this.hashes[i] === h && this.keyLen[i] === length && this.sameKey(at, buf, start, length)) return this.offsets[i]!;
    }
  }

  /** Every offset the map holds, sorted ascending. */
  sortedOffsets(): Float64Array {
    const out = new Float64Array(this.size);
    let n = 0;
    for (let i = 0; i < this.capacity; i++) if (this.keyPos[i] !== EMPTY) out[n++] = this.offsets[i]!;
    return out.sort();
  }

  private sameKey(at: number, buf: Buffer, start: number, length: number): boolean {
    const arena = this.arena;
    for (let k = 0; k < length; k++) if (arena[at + k] !== buf[start + k]) return false;
    return true;
  }

  private store(buf: Buffer, start: number, length: number): number {
    if (this.arenaUsed + length > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + length));
      this.arena.copy(bigger, 0, 0, this.arenaUsed);
      this.arena = bigger;
    }
    const at = this.arenaUsed;
    buf.copy(this.arena, at, start, start + length);
    this.arenaUsed += length;
    return at;
  }

  private grow(): void {
    const old = { hashes: this.hashes, keyPos: this.keyPos, keyLen: this.keyLen, offsets: this.offsets, capacity: this.capacity };
    this.capacity *= 2;
    this.hashes = new Int32Array(this.capacity);
    this.keyPos = new Int32Array(this.capacity).fill(EMPTY);
    this.keyLen = new Int32Array(this.capacity);
    this.offsets = new Float64Array(this.capacity);
    const mask = this.capacity - 1;
    for (let j = 0; j < old.capacity; j++) {
      if (old.keyPos[j] === EMPTY) continue;
      let i = old.hashes[j]! & mask;
      while (this.keyPos[i] !== EMPTY) i = (i + 1) & mask;
      this.hashes[i] = old.hashes[j]!;
      this.keyPos[i] = old.keyPos[j]!;
      this.keyLen[i] = old.keyLen[j]!;
      this.offsets[i] = old.offsets[j]!;
    }
  }
}

/** FNV-1a over the key bytes, then a final mix so nearby keys spread over the table. */
function hashOf(buf: Buffer, start: number, length: number): number {
  let h = 0x811c9dc5;
  for (let k = start, end = start + length; k < end; k++) h = Math.imul(h ^ buf[k]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x7fffffff;
}
