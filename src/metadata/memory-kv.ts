// MetadataKv in memory, with the semantics of a NATS JetStream KV bucket (one revision sequence for the
// whole bucket, tombstones on delete, create allowed over a tombstone, compare-and-set against the last
// write including a tombstone), for deterministic simulation tests. Every method completes on a later
// microtask, as a network round trip would, but in a deterministic order.
import { AsyncQueue } from './async-queue.ts';
import { KeyExistsError, RevisionMismatchError } from './kv-errors.ts';
import {
  assertValidKey,
  keyHasPrefix,
  type KvChange,
  type KvEntry,
  type KvWatch,
  type KvWatchEvent,
  type MetadataKv,
} from './kv.ts';

interface Slot {
  value: Uint8Array | null; // null: tombstone
  revision: number;
}

export class MemoryKv implements MetadataKv {
  private readonly slots = new Map<string, Slot>();
  private readonly watchers = new Set<{ prefix: string | undefined; queue: AsyncQueue<KvWatchEvent> }>();
  private lastRevision = 0;
  /** What each recent write replaced, by revision, so rewind() can undo it (the last HISTORY writes). */
  private readonly undo: Array<{ revision: number; key: string; before: Slot | undefined }> = [];

  /** The bucket's last revision. */
  get revision(): number {
    return this.lastRevision;
  }

  /**
   * Loses every write after `revision`, as a NATS crash before its periodic sync does (see KvRewound): the
   * bucket's values and revision go back there, and every watch yields a KvRewound and a fresh replay. Only
   * the last HISTORY writes can be undone.
   */
  rewind(revision: number): void {
    const oldest = this.undo[0]?.revision ?? this.lastRevision + 1;
    if (revision < oldest - 1 || revision > this.lastRevision) throw new RangeError(`can rewind to revisions ${oldest - 1} to ${this.lastRevision}, not ${revision}`);
    while (this.undo.length > 0 && this.undo.at(-1)!.revision > revision) {
      const w = this.undo.pop()!;
      if (w.before) this.slots.set(w.key, w.before);
      else this.slots.delete(w.key);
    }
    this.lastRevision = revision;
    for (const w of this.watchers) {
      w.queue.push({ operation: 'REWOUND', revision });
      this.replayTo(w.queue, w.prefix, true);
    }
  }

  async get(key: string): Promise<KvEntry | null> {
    assertValidKey(key);
    await tick();
    const slot = this.slots.get(key);
    return slot?.value ? { value: slot.value.slice(), revision: slot.revision } : null;
  }

  async lastWrite(key: string): Promise<{ value: Uint8Array | null; revision: number } | null> {
    assertValidKey(key);
    await tick();
    const slot = this.slots.get(key);
    return slot ? { value: slot.value?.slice() ?? null, revision: slot.revision } : null;
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    await tick();
    if (this.slots.get(key)?.value) throw new KeyExistsError(key);
    return this.write(key, value);
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    await tick();
    return this.write(key, value);
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    assertValidKey(key);
    await tick();
    if (expectedRevision <= 0 || (this.slots.get(key)?.revision ?? 0) !== expectedRevision) {
      throw new RevisionMismatchError(key, expectedRevision);
    }
    return this.write(key, value);
  }

  async delete(key: string, expectedRevision?: number): Promise<void> {
    assertValidKey(key);
    await tick();
    if (expectedRevision !== undefined && (this.slots.get(key)?.revision ?? 0) !== expectedRevision) {
      throw new RevisionMismatchError(key, expectedRevision);
    }
    this.write(key, null);
  }

  async keys(prefix?: string): Promise<string[]> {
    await tick();
    return [...this.slots].filter(([k, s]) => s.value && keyHasPrefix(k, prefix)).map(([k]) => k).sort();
  }

  watch(prefix?: string): KvWatch {
    const watcher = { prefix, queue: new AsyncQueue<KvWatchEvent>(() => this.watchers.delete(watcher)) };
    // Replay and registration happen in the same synchronous step, so no write falls between them.
    this.replayTo(watcher.queue, prefix);
    this.watchers.add(watcher);
    return {
      stop: () => {
        this.watchers.delete(watcher);
        watcher.queue.end();
      },
      [Symbol.asyncIterator]: () => watcher.queue[Symbol.asyncIterator](),
    };
  }

  /** The current values under `prefix` in revision order (and, after a rewind, the deletes), then REPLAYED. */
  private replayTo(queue: AsyncQueue<KvWatchEvent>, prefix: string | undefined, tombstones = false): void {
    const current = [...this.slots]
      .filter(([k, s]) => (s.value || tombstones) && keyHasPrefix(k, prefix))
      .sort((a, b) => a[1].revision - b[1].revision);
    for (const [key, s] of current) {
      queue.push(s.value ? { operation: 'PUT', key, value: s.value.slice(), revision: s.revision } : { operation: 'DEL', key, value: null, revision: s.revision });
    }
    queue.push({ operation: 'REPLAYED', revision: this.lastRevision });
  }

  private write(key: string, value: Uint8Array | null): number {
    const revision = ++this.lastRevision;
    this.undo.push({ revision, key, before: this.slots.get(key) });
    if (this.undo.length > 2 * HISTORY) this.undo.splice(0, this.undo.length - HISTORY);
    // Copy in and out: a caller mutating its buffer must not change what is stored.
    this.slots.set(key, { value: value ? value.slice() : null, revision });
    const change: KvChange = value
      ? { operation: 'PUT', key, value: value.slice(), revision }
      : { operation: 'DEL', key, value: null, revision };
    for (const w of this.watchers) if (keyHasPrefix(key, w.prefix)) w.queue.push({ ...change, value: change.value?.slice() ?? null });
    return revision;
  }
}

/** How many of the last writes rewind() can undo (at least). */
const HISTORY = 10_000;

function tick(): Promise<void> {
  return Promise.resolve();
}
