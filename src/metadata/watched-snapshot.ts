// The bucket as one MetadataStore has seen it: the watch folded into one immutable ClusterSnapshot
// (snapshot-fold.ts), with every key's last applied revision and value, the listeners told of each change,
// and the waits for a condition on what has been applied. The writes the controller and the brokers make
// are metadata-store.ts's; the only writes made here are a rewind's repair.
//
// The snapshot only ever moves forward along the bucket's revisions, except when the bucket went back
// (KvRewound, see rewind-repair.ts): the lost writes are written back and the snapshot then moves to the
// repaired bucket in one step. Snapshots are produced with immer: frozen, and a change to one topic keeps
// every other topic and the broker map the same objects.
import { freeze, produce } from 'immer';
import type { Clock } from '../runtime/clock.ts';
import { MetadataTimeoutError, MetadataUnavailableError, StoreClosedError } from './errors.ts';
import type { KvChange, KvWatch, MetadataKv } from './kv.ts';
import { applyChange } from './snapshot-fold.ts';
import { bucketAfter, repairsDelivered, startRewind, writeBackLost, type Rewind } from './rewind-repair.ts';
import type { ClusterSnapshot } from './types.ts';

export interface WatchedSnapshotOptions {
  /** Write and replay deadlines, the watch loop's turns. */
  clock: Clock;
  /** Malformed values, failing subscribers, a watch that ended. Shaped like Logger.warn. */
  warn: (message: string, facts: Record<string, unknown>) => void;
  /** How long a repair waits for the watch to deliver its own writes (the store's writeVisibilityTimeoutMs). */
  visibilityTimeoutMs: number;
}

/** Work applying changes after which the watch loop gives the event loop a turn (see run()). */
const YIELD_AFTER_MS = 20;

export type SnapshotListener = (next: ClusterSnapshot, prev: ClusterSnapshot) => void;

interface Waiter {
  check: () => boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: unknown;
}

const EMPTY: ClusterSnapshot = freeze({ clusterId: '', brokers: {}, topics: {}, controller: null, brokerConfigs: {}, acls: {}, revision: 0 }, true);

export class WatchedSnapshot {
  /** Settles when the initial replay of the bucket has been applied to the snapshot. */
  readonly ready: Promise<void>;
  private current: ClusterSnapshot = EMPTY;
  private readonly keyRevisions = new Map<string, number>();
  /** Every key's last value as applied (null: deleted), what a repair after a rewind writes back. */
  private readonly values = new Map<string, Uint8Array | null>();
  /** Between a KvRewound and the end of its repair (see onRewound). */
  private rewind: Rewind | null = null;
  /** How many rewinds have been repaired and moved past. */
  private repaired = 0;
  private readonly listeners = new Set<SnapshotListener>();
  private readonly rewindListeners = new Set<() => void>();
  private readonly waiters = new Set<Waiter>();
  private readonly watch: KvWatch;
  private readonly loop: Promise<void>;
  private readonly clock: Clock;
  private readonly warn: (message: string, facts: Record<string, unknown>) => void;
  private replayed = false;
  private stopped = false;
  private settleReady!: (err?: unknown) => void;

  /** Starts watching the bucket; `ready` settles when the replay is applied. */
  constructor(
    private readonly kv: MetadataKv,
    private readonly opts: WatchedSnapshotOptions,
  ) {
    this.clock = opts.clock;
    this.warn = opts.warn;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.ready.catch(() => {}); // observed through MetadataStore.open(); an unobserved rejection must not kill the process
    this.watch = kv.watch();
    this.loop = this.run();
  }

  snapshot(): ClusterSnapshot {
    return this.current;
  }

  /** Whether the initial replay has been applied. */
  get isReady(): boolean {
    return this.replayed;
  }

  get closed(): boolean {
    return this.stopped;
  }

  /** How many rewinds have been repaired and moved past: a change says the snapshot moved to a repaired bucket. */
  get rewinds(): number {
    return this.repaired;
  }

  /** Whether a rewind is being repaired (from its KvRewound until the snapshot moved). */
  get repairing(): boolean {
    return this.rewind !== null;
  }

  /** The revision of the last change of `key` applied (a delete included), 0 if none. */
  keyRevision(key: string): number {
    return this.keyRevisions.get(key) ?? 0;
  }

  /** Whether the last change of `key` applied left a value (not a delete, not nothing yet). */
  holds(key: string): boolean {
    return this.values.get(key) != null;
  }

  subscribe(fn: SnapshotListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  subscribeRewinds(fn: () => void): () => void {
    this.rewindListeners.add(fn);
    return () => this.rewindListeners.delete(fn);
  }

  /** Stops watching; pending waits fail with StoreClosedError, and so do later ones. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watch.stop();
    for (const w of [...this.waiters]) this.finishWaiter(w, new StoreClosedError());
    if (!this.replayed) this.settleReady(new StoreClosedError());
    this.listeners.clear();
    this.rewindListeners.clear();
    await this.loop;
  }

  // ---- folding the watch into snapshots ----

  private async run(): Promise<void> {
    const replay: KvChange[] = [];
    let busyMs = 0;
    try {
      for await (const ev of this.watch) {
        if (ev.operation === 'REWOUND') {
          // Before the first replay ended there is nothing to repair: the replay starts over.
          if (this.replayed) this.onRewound(ev.revision);
          else replay.length = 0;
          continue;
        }
        if (this.rewind) {
          if (ev.operation === 'REPLAYED') {
            if (this.rewind.replayedAt < 0) {
              this.rewind.replayedAt = ev.revision;
              void this.repair(this.rewind);
            }
          } else if (this.rewind.replayedAt < 0) this.rewind.replay.push(ev);
          else this.rewind.live.push(ev);
          this.checkWaiters();
          continue;
        }
        if (ev.operation === 'REPLAYED') {
          if (this.replayed) continue;
          // The whole replay becomes one snapshot: one copy, one notification, however many keys.
          this.apply(replay.splice(0), ev.revision);
          this.replayed = true;
          this.settleReady();
          this.checkWaiters();
        } else if (this.replayed) {
          const started = this.clock.monotonic();
          this.apply([ev]);
          // Changes the watch buffered are delivered back to back without a turn of the event loop: 100 topics
          // of 100 partitions created at once, each starting its replicas here, kept timers (the controller's
          // lease, heartbeats) and sockets waiting for 5 s. Past YIELD_AFTER_MS of work, let them run.
          busyMs += this.clock.monotonic() - started;
          if (busyMs >= YIELD_AFTER_MS) {
            busyMs = 0;
            await new Promise<void>((resolve) => this.clock.setTimeout(resolve, 0));
          }
        } else {
          replay.push(ev);
        }
      }
      if (!this.stopped) this.watchEnded(new MetadataUnavailableError());
    } catch (err) {
      if (!this.stopped) this.watchEnded(new MetadataUnavailableError(err));
    }
  }

  private watchEnded(err: MetadataUnavailableError): void {
    this.warn('metadata watch ended; the snapshot no longer changes', { error: err, cause: err.cause });
    if (!this.replayed) this.settleReady(err);
  }

  /** Folds changes into a new snapshot; `through` is a revision the changes are known to cover. */
  private apply(changes: KvChange[], through = 0): void {
    const accepted = changes.filter((c) => c.revision > (this.keyRevisions.get(c.key) ?? 0));
    const revision = Math.max(this.current.revision, through, ...accepted.map((c) => c.revision));
    if (accepted.length === 0 && revision === this.current.revision) return;
    for (const c of accepted) {
      this.keyRevisions.set(c.key, c.revision);
      this.values.set(c.key, c.value);
    }
    this.publish(accepted, revision);
  }

  /** Folds accepted changes into the next snapshot at `revision` and tells the listeners. */
  private publish(accepted: KvChange[], revision: number): void {
    const prev = this.current;
    const next = produce(prev, (draft) => {
      for (const c of accepted) applyChange(draft, c, this.warn);
      draft.revision = revision;
    });
    this.current = next;
    if (next !== prev) {
      for (const fn of [...this.listeners]) {
        try {
          fn(next, prev);
        } catch (err) {
          this.warn('a metadata subscriber threw; it stays subscribed', { error: err, revision: next.revision });
        }
      }
    }
    this.checkWaiters();
  }

  // ---- the bucket going back (KvRewound): see rewind-repair.ts ----

  private onRewound(revision: number): void {
    this.warn('the metadata bucket lost its latest writes (NATS crashed before syncing them): writing them back', { lostAfter: revision, known: this.current.revision });
    // A second rewind during a repair: start over from the same last values, now against the newer loss.
    this.rewind = startRewind(revision, this.rewind);
  }

  private async repair(rw: Rewind): Promise<void> {
    await writeBackLost(this.kv, rw, this.keyRevisions, this.values, this.current.revision, () => this.rewind === rw, this.warn);
    if (this.rewind !== rw) return;
    // The snapshot moves once the watch has delivered this store's own repairs (or after the visibility timeout).
    try {
      await this.waitUntil(() => repairsDelivered(rw), this.opts.visibilityTimeoutMs, 'the repaired metadata');
    } catch {
      // moving on with what the watch delivered
    }
    if (this.rewind !== rw || this.stopped) return;
    this.rewind = null;
    this.replaceWith([...rw.replay, ...rw.live], rw.replayedAt);
  }

  /** The snapshot becomes the bucket as `changes` (a replay and what followed it) describe it, in one step. */
  private replaceWith(changes: KvChange[], through: number): void {
    const { last, all } = bucketAfter(changes, this.keyRevisions.keys(), this.values);
    this.keyRevisions.clear();
    this.values.clear();
    for (const c of last) {
      this.keyRevisions.set(c.key, c.revision);
      this.values.set(c.key, c.value);
    }
    // The bucket's revisions went back: so does the snapshot's.
    this.repaired++;
    this.publish(all, changes.reduce((m, c) => Math.max(m, c.revision), through));
    for (const fn of [...this.rewindListeners]) {
      try {
        fn();
      } catch (err) {
        this.warn('a metadata rewind subscriber threw', { error: err });
      }
    }
  }

  // ---- waiting ----

  /** Resolves once check() holds (tested now and after every applied change), or fails after timeoutMs. */
  waitUntil(check: () => boolean, timeoutMs: number, what: string, abort?: Promise<unknown>): Promise<void> {
    if (this.stopped) return Promise.reject(new StoreClosedError());
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { check, resolve, reject, timer: null };
      w.timer = this.clock.setTimeout(() => this.finishWaiter(w, new MetadataTimeoutError(what, timeoutMs)), timeoutMs);
      this.waiters.add(w);
      abort?.catch((err) => this.finishWaiter(w, err));
    });
  }

  private finishWaiter(w: Waiter, err?: unknown): void {
    if (!this.waiters.delete(w)) return;
    this.clock.clearTimeout(w.timer);
    if (err === undefined) w.resolve();
    else w.reject(err);
  }

  private checkWaiters(): void {
    for (const w of [...this.waiters]) {
      let ok = false;
      try {
        ok = w.check();
      } catch (err) {
        this.finishWaiter(w, err);
        continue;
      }
      if (ok) this.finishWaiter(w);
    }
  }
}
