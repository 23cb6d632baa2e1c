// A budget of open file descriptors for the log's files. Every segment has three files (log, offset index,
// time index), so 10,000 partitions want 30,000 descriptors where this machine's limit is 20,000 (and many a
// distribution's is 1,024): Kafka asks operators to raise the limit and fails the log directory when it is hit
// (every replica in it goes offline). Here a file whose descriptor was not used for longest is closed when the
// budget is full and opened again by its path on its next use; a descriptor in use (an operation in flight,
// or a file renamed over or unlinked, whose path no longer leads to it) is never closed. Idle partitions cost
// no descriptors; a broker whose every file is busy goes over the budget rather than fail.
//
// Closing a descriptor does not lose what was written through it: the bytes are in the page cache, and an
// fsync on a later descriptor of the same file writes them back (Linux syncs the inode, not the descriptor;
// since 4.16 a writeback error nobody has seen is reported to the next fsync on the file, from any descriptor).
import { readFileSync } from 'node:fs';

/** What the pool needs of a file: whether its descriptor may be closed now, and closing it. */
export interface PooledDescriptor {
  evictable(): boolean;
  evict(): void;
}

export class DescriptorPool {
  /** Open descriptors, least recently used first (a Map keeps insertion order; touch re-inserts). */
  private readonly open = new Map<PooledDescriptor, true>();
  /** Descriptors reserved and being opened: counted, not pooled yet (directories opened to fsync them are not counted). */
  private transient = 0;
  private readonly waiting: Array<() => void> = [];
  /** Descriptors closed to stay within the budget, since start (for tests and metrics). */
  evictions = 0;

  constructor(readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`the open-file budget must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.open.size + this.transient;
  }

  /**
   * Waits for room for one more descriptor (closing idle ones first), and holds it until opened() or
   * release(). Many partitions created or recovered at once wait here instead of failing with EMFILE.
   */
  async reserve(): Promise<void> {
    for (;;) {
      if (this.size >= this.max) this.trim(1);
      if (this.size < this.max) {
        this.transient++;
        return;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** A reserved slot was not used for a pooled descriptor (the open failed, or the descriptor was closed). */
  release(): void {
    this.transient--;
    this.wake();
  }

  /** A reserved slot now holds descriptor d. */
  opened(d: PooledDescriptor): void {
    this.transient--;
    this.touch(d);
  }

  /** A descriptor was used: it becomes the most recently used. */
  touch(d: PooledDescriptor): void {
    const known = this.open.delete(d);
    this.open.set(d, true);
    if (!known) this.trim();
  }

  /** A descriptor was closed by its owner. */
  forget(d: PooledDescriptor): void {
    if (this.open.delete(d)) this.wake();
  }

  /** A descriptor stopped being busy: a waiter may be able to close it now. */
  idle(): void {
    if (this.waiting.length > 0 || this.size > this.max) {
      this.trim();
      this.wake();
    }
  }

  /** Closes idle descriptors, least recently used first, until `room` more fit (or only busy ones are left). */
  trim(room = 0): void {
    if (this.size + room <= this.max) return;
    for (const d of this.open.keys()) {
      if (this.size + room <= this.max) return;
      if (!d.evictable()) continue;
      this.open.delete(d);
      this.evictions++;
      d.evict();
    }
  }

  private wake(): void {
    this.waiting.shift()?.();
  }
}

/**
 * The default budget: half of this process's soft limit on open files (RLIMIT_NOFILE, read from
 * /proc/self/limits), leaving the other half to sockets, NATS, checkpoints and Node itself; 512 where the limit
 * cannot be read.
 */
export function defaultDescriptorBudget(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return 512;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!m) return 512;
  const soft = m[1] === 'unlimited' ? 1_048_576 : Number(m[1]);
  return Math.max(64, Math.floor(soft / 2));
}
