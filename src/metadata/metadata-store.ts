// The cluster metadata as every actor sees it: a MetadataKv bucket (the role ZooKeeper played for Kafka)
// folded by a watch into one immutable ClusterSnapshot (watched-snapshot.ts), plus the writes the controller
// and the brokers make. Every write is a compare-and-set or a create, so two writers never both win;
// updateTopic retries a lost compare-and-set on the fresh value.
//
// The snapshot only ever moves forward along the bucket's revisions, and a write returns once the store
// has seen its own change (read-your-writes for the caller), so `await createTopic(t)` followed by
// `snapshot()` shows t.
import { freeze, produce, type Draft } from 'immer';
import { ulidToUUID } from 'ulid';
import type { Clock } from '../runtime/clock.ts';
import type { Ids } from '../runtime/ids.ts';
import {
  InvalidMetadataError,
  InvalidTopicError,
  MetadataTimeoutError,
  StoreClosedError,
  TopicExistsError,
  TopicNotFoundError,
  UpdateConflictError,
} from './errors.ts';
import { KeyExistsError, RevisionMismatchError } from './kv-errors.ts';
import type { KvEntry, MetadataKv } from './kv.ts';
import {
  brokerProblem,
  decodeBroker,
  decodeBrokerConfigs,
  decodeClusterId,
  decodeTopic,
  encodeJson,
  topicProblem,
} from './metadata-codec.ts';
import { brokerConfigKey, brokerKey, CLUSTER_ID_KEY, parseKey, PRODUCER_IDS_KEY, topicKey } from './metadata-keys.ts';
import { CoalescedUpdates, type PendingUpdate } from './coalesced-updates.ts';
import { topicNameProblem } from './topic-name.ts';
import type { BrokerInfo, ClusterSnapshot, TopicInfo } from './types.ts';
import { WatchedSnapshot, type SnapshotListener } from './watched-snapshot.ts';

export type { SnapshotListener } from './watched-snapshot.ts';

export interface MetadataStoreOptions {
  /** The runtime's clock: write and replay deadlines, the cluster id's creation time. */
  clock: Clock;
  /** The runtime's ids: the cluster id. */
  ids: Ids;
  /** Malformed values, failing subscribers, a watch that ended. Shaped like Logger.warn. */
  onWarning?: (message: string, facts: Record<string, unknown>) => void;
  /** Lost compare-and-sets updateTopic tolerates in a row before UpdateConflictError (default 16). */
  maxUpdateAttempts?: number;
  /** How long open() waits for the initial replay (default 30 s). */
  readyTimeoutMs?: number;
  /** How long a write waits to see its own change in the snapshot before returning anyway (default 5 s). */
  writeVisibilityTimeoutMs?: number;
}

export class MetadataStore {
  /** Settles when the initial replay of the bucket has been applied to the snapshot. */
  readonly ready: Promise<void>;
  /** The bucket as this store has applied it: the snapshot, each key's revision, the waits on them. */
  private readonly watched: WatchedSnapshot;
  private readonly topicUpdates = new CoalescedUpdates<TopicInfo>((key, batch) => this.writeTopicBatch(key, batch));
  private readonly clock: Clock;
  private readonly warn: (message: string, facts: Record<string, unknown>) => void;

  private constructor(
    private readonly kv: MetadataKv,
    private readonly opts: MetadataStoreOptions,
  ) {
    this.clock = opts.clock;
    this.warn = opts.onWarning ?? (() => {});
    this.watched = new WatchedSnapshot(kv, { clock: this.clock, warn: this.warn, visibilityTimeoutMs: opts.writeVisibilityTimeoutMs ?? 5_000 });
    this.ready = this.watched.ready;
  }

  /** Starts watching the bucket; `ready` settles when the replay is applied. */
  static create(kv: MetadataKv, opts: MetadataStoreOptions): MetadataStore {
    return new MetadataStore(kv, opts);
  }

  /** create() and wait for `ready` (MetadataTimeoutError after readyTimeoutMs, the store then closed). */
  static async open(kv: MetadataKv, opts: MetadataStoreOptions): Promise<MetadataStore> {
    const store = new MetadataStore(kv, opts);
    const timeoutMs = opts.readyTimeoutMs ?? 30_000;
    try {
      await store.watched.waitUntil(() => store.watched.isReady, timeoutMs, 'the initial metadata replay', store.ready);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  snapshot(): ClusterSnapshot {
    return this.watched.snapshot();
  }

  /** Called after every change with the new and the previous snapshot; returns the unsubscribe. */
  subscribe(fn: SnapshotListener): () => void {
    return this.watched.subscribe(fn);
  }

  /**
   * Called after the store moved to a bucket that went back and was repaired (KvRewound): key revisions were
   * handed out again, so a revision compared with one from before means nothing. Returns the unsubscribe.
   */
  subscribeRewinds(fn: () => void): () => void {
    return this.watched.subscribeRewinds(fn);
  }

  /** The first snapshot (the current one included) that satisfies pred; MetadataTimeoutError otherwise. */
  async waitFor(pred: (s: ClusterSnapshot) => boolean, timeoutMs: number): Promise<ClusterSnapshot> {
    await this.watched.waitUntil(() => pred(this.watched.snapshot()), timeoutMs, 'the awaited metadata condition');
    return this.watched.snapshot();
  }

  /**
   * The revision of the last change of `key` this store has applied (a delete included), 0 if none. The
   * controller lease is watched through it: a renewal changes the key's revision but not the snapshot's
   * `controller` object.
   */
  keyRevision(key: string): number {
    return this.watched.keyRevision(key);
  }

  /** The cluster id, created once for the whole cluster by whichever broker gets there first. */
  async ensureClusterId(): Promise<string> {
    for (;;) {
      this.assertOpen();
      const e = await this.kv.get(CLUSTER_ID_KEY);
      if (e) {
        const d = decodeClusterId(e.value);
        if (!d.ok) throw new InvalidMetadataError(CLUSTER_ID_KEY, d.why);
        await this.seen(CLUSTER_ID_KEY, e.revision);
        return d.value;
      }
      const clusterId = newClusterId(this.opts.ids.ulid());
      try {
        const rev = await this.kv.create(CLUSTER_ID_KEY, encodeJson({ clusterId, createdAt: this.clock.wall() }));
        await this.seen(CLUSTER_ID_KEY, rev);
        return clusterId;
      } catch (err) {
        if (!(err instanceof KeyExistsError)) throw err; // another broker won: read its id
      }
    }
  }

  /** Registers (or re-registers, replacing a previous incarnation) a broker. */
  async registerBroker(info: BrokerInfo): Promise<void> {
    this.assertOpen();
    const key = brokerKey(info.id);
    const problem = brokerProblem(info);
    if (problem) throw new InvalidMetadataError(key, problem);
    await this.seen(key, await this.kv.put(key, encodeJson(info)));
  }

  /**
   * Clears the `fenced` mark of a broker's registration, only if that incarnation is still the registered one
   * (a broker that restarted meanwhile stays fenced). Says whether it did. The controller calls it.
   */
  async unfenceBroker(id: number, incarnation: string, guard: () => void = () => {}): Promise<boolean> {
    const key = brokerKey(id);
    let done = false;
    await this.retryCas(key, `unfence broker ${id}`, async () => {
      const e = await this.read(key);
      if (!e) return;
      const d = decodeBroker(e.value, id);
      if (!d.ok || d.value.incarnation !== incarnation || d.value.fenced !== true) return;
      guard();
      const rev = await this.kv.update(key, encodeJson({ ...d.value, fenced: false }), e.revision);
      await this.seen(key, rev);
      done = true;
    });
    return done;
  }

  /**
   * Removes a broker's registration. With `incarnation`, only that incarnation's: a broker shutting down
   * must not remove the registration of its own successor that started in the meantime.
   */
  async unregisterBroker(id: number, incarnation?: string): Promise<void> {
    const key = brokerKey(id);
    await this.retryCas(key, `unregister broker ${id}`, async () => {
      const e = await this.read(key);
      if (!e) return;
      if (incarnation !== undefined) {
        const d = decodeBroker(e.value, id);
        if (d.ok && d.value.incarnation !== incarnation) return;
      }
      await this.kv.delete(key, e.revision);
      await this.seen(key, e.revision + 1);
    });
  }

  async createTopic(topic: TopicInfo): Promise<void> {
    this.assertOpen();
    const nameProblem = topicNameProblem(topic.name);
    if (nameProblem) throw new InvalidTopicError(topic.name, nameProblem);
    const key = topicKey(topic.name);
    const problem = topicProblem(topic);
    if (problem) throw new InvalidMetadataError(key, problem);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.seen(key, await this.kv.create(key, encodeJson(topic)));
      } catch (err) {
        if (!(err instanceof KeyExistsError)) throw err;
        // Absent from this store's snapshot (deleted, or never seen by a store that restarted since): the bucket
        // may have gone back to an earlier incarnation, which the repair deletes again; or another broker created
        // it and the watch has not said so yet.
        const absentHere = !this.watched.holds(key);
        if (attempt > 0 || !absentHere) throw new TopicExistsError(topic.name, err);
        const rewinds = this.watched.rewinds;
        await this.watched.waitUntil(() => this.watched.rewinds > rewinds || this.watched.holds(key), this.catchUpMs(), `the watch to catch up on ${key}`).catch(() => {});
        if (this.watched.rewinds === rewinds) throw new TopicExistsError(topic.name, err);
      }
    }
  }

  async deleteTopic(name: string): Promise<void> {
    const key = this.keyOfTopic(name);
    await this.retryCas(key, `delete topic ${name}`, async () => {
      const e = await this.read(key);
      if (!e) throw new TopicNotFoundError(name);
      await this.kv.delete(key, e.revision);
      await this.seen(key, e.revision + 1);
    });
  }

  /**
   * Applies an immer recipe to the topic's latest stored value and writes it with a compare-and-set on
   * that value's revision; a lost compare-and-set re-reads and re-applies, so the recipe must be pure.
   * A recipe that changes nothing writes nothing. Updates of one topic made while another is being written
   * go out together in the next write (coalesced-updates.ts), each applied on its own: the value returned
   * is the one written, with the changes of the updates written with it.
   */
  async updateTopic(name: string, recipe: (draft: Draft<TopicInfo>) => void): Promise<TopicInfo> {
    const key = this.keyOfTopic(name);
    return this.topicUpdates.submit(key, (value) => {
      const next = produce(value, recipe);
      const problem = next === value ? null : topicProblem(next, name);
      if (problem) throw new InvalidMetadataError(key, `the update would store an invalid topic: ${problem}`);
      return next;
    });
  }

  /** One write of a topic's pending updates (see updateTopic); settles each of them. */
  private async writeTopicBatch(key: string, batch: readonly PendingUpdate<TopicInfo>[]): Promise<void> {
    const name = (parseKey(key) as { name: string }).name;
    const ok = Symbol('applied');
    let outcomes: unknown[] = [];
    let written: TopicInfo | undefined;
    await this.retryCas(key, `update topic ${name}`, async () => {
      const e = await this.read(key);
      if (!e) throw new TopicNotFoundError(name);
      const d = decodeTopic(e.value, name);
      if (!d.ok) throw new InvalidMetadataError(key, d.why);
      let value = d.value;
      outcomes = batch.map((u) => {
        try {
          value = u.apply(value);
          return ok;
        } catch (err) {
          return err;
        }
      });
      if (value === d.value) {
        written = freeze(d.value, true);
        return;
      }
      await this.seen(key, await this.kv.update(key, encodeJson(value), e.revision));
      written = value;
    });
    batch.forEach((u, i) => (outcomes[i] === ok ? u.resolve(written!) : u.reject(outcomes[i])));
  }

  /**
   * Replaces the dynamic configs of a broker (`scope` its id as a string) or of the whole cluster (`scope` '')
   * with `compute(current)`, by compare-and-set on the stored value: a lost compare-and-set computes again from
   * the newer value, so `compute` must be pure (it may throw to refuse). Returns the configs written.
   */
  async updateBrokerConfigs(scope: string, compute: (current: Readonly<Record<string, string>>) => Record<string, string>): Promise<Record<string, string>> {
    const key = brokerConfigKey(scope);
    let result: Record<string, string> | undefined;
    await this.retryCas(key, `update the configs of ${scope === '' ? 'the cluster default' : `broker ${scope}`}`, async () => {
      const e = await this.read(key);
      let current: Record<string, string> = {};
      if (e) {
        const d = decodeBrokerConfigs(e.value);
        if (!d.ok) throw new InvalidMetadataError(key, d.why);
        current = d.value;
      }
      const next = compute(current);
      const value = encodeJson({ configs: next });
      await this.seen(key, await this.writeOver(key, e, value));
      result = next;
    });
    return result!;
  }

  /**
   * A key outside the snapshot (SCRAM credentials: src/security/scram-credentials.ts), read from the bucket;
   * (updateOther also writes ACL keys, which the snapshot holds: it returns once the snapshot shows the change)
   * with `prefix`, the keys under it. Such keys are read where they are used, not watched.
   */
  async readOther(key: string): Promise<Uint8Array | null> {
    this.assertOpen();
    return (await this.kv.get(key))?.value ?? null;
  }

  async otherKeys(prefix: string): Promise<string[]> {
    this.assertOpen();
    return this.kv.keys(prefix);
  }

  /** Compare-and-set of a key outside the snapshot: `compute` (pure, retried on a conflict) maps its value to the next one, null deleting it, the same value writing nothing. */
  async updateOther(key: string, compute: (current: Uint8Array | null) => Uint8Array | null): Promise<void> {
    await this.retryCas(key, `update ${key}`, async () => {
      const e = await this.read(key);
      const next = compute(e?.value ?? null);
      if (next === (e?.value ?? null)) return; // unchanged: nothing to write
      if (next === null) {
        if (e) {
          await this.kv.delete(key, e.revision);
          await this.seen(key, e.revision + 1);
        }
      } else await this.seen(key, await this.writeOver(key, e, next));
    });
  }

  /**
   * Reserves the next block of `size` producer ids for `brokerId` (Kafka's ProducerIdManager, KIP-730 style):
   * the `producer-ids` key holds the next free block start and moves forward by compare-and-set, so no two
   * brokers ever hand out the same id. Returns the block [start, end).
   */
  async reserveProducerIdBlock(brokerId: number, size: number): Promise<{ start: number; end: number }> {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`producer id block size must be a positive integer, got ${size}`);
    let block: { start: number; end: number } | undefined;
    await this.retryCas(PRODUCER_IDS_KEY, 'reserve a producer id block', async () => {
      const e = await this.read(PRODUCER_IDS_KEY);
      let start = 0;
      if (e) {
        const v = JSON.parse(Buffer.from(e.value).toString('utf8')) as { nextBlockStart?: unknown };
        if (typeof v.nextBlockStart !== 'number' || !Number.isSafeInteger(v.nextBlockStart) || v.nextBlockStart < 0) {
          throw new InvalidMetadataError(PRODUCER_IDS_KEY, `nextBlockStart is not a non-negative integer: ${String(v.nextBlockStart)}`);
        }
        start = v.nextBlockStart;
      }
      const end = start + size;
      const value = encodeJson({ nextBlockStart: end, lastBlock: { brokerId, start, end } });
      // Seen before it is used: the block is then among the values this store writes back if the bucket loses it.
      await this.seen(PRODUCER_IDS_KEY, await this.writeOver(PRODUCER_IDS_KEY, e, value));
      block = { start, end };
    });
    return block!;
  }

  /** Stops watching; pending waits fail with StoreClosedError; later writes are refused. */
  async close(): Promise<void> {
    await this.watched.close();
  }

  // ---- reading for a compare-and-set, and seeing the write ----

  /**
   * The bucket's entry for `key`, for a read-modify-write, as fresh as this store's snapshot: an entry older
   * than the one applied here, or none where the snapshot has a value, is what a bucket that went back shows
   * before the repair (or a bucket replica behind the watch, or a delete the watch has not delivered yet). It
   * waits a little for the watch (a rewind repaired, the delete delivered) and reads again; still behind, it is
   * a lost compare-and-set to the caller (retryCas reads again).
   */
  private async read(key: string): Promise<KvEntry | null> {
    for (let attempt = 0; ; attempt++) {
      const e = await this.kv.get(key);
      const known = this.watched.keyRevision(key);
      if (!(e ? e.revision < known : this.watched.holds(key))) return e;
      if (attempt > 0) throw new RevisionMismatchError(key, known);
      await this.watchCatchesUp(key);
    }
  }

  /** How long to wait for the watch: a second, or while a rewind is being repaired here, until it should be done. */
  private catchUpMs(): number {
    return this.watched.repairing ? 2 * (this.opts.writeVisibilityTimeoutMs ?? 5_000) : 1_000;
  }

  /** Waits (see catchUpMs) until a rewind has been repaired here or the watch has delivered `key`'s delete. */
  private async watchCatchesUp(key: string): Promise<void> {
    const rewinds = this.watched.rewinds;
    try {
      await this.watched.waitUntil(() => this.watched.rewinds > rewinds || !this.watched.holds(key), this.catchUpMs(), `the watch to catch up on ${key}`);
    } catch (err) {
      if (!(err instanceof MetadataTimeoutError)) throw err;
    }
  }

  /** Waits until the watch has delivered `key` at `revision` or later, so the caller reads its own write. */
  private async seen(key: string, revision: number): Promise<void> {
    const timeoutMs = this.opts.writeVisibilityTimeoutMs ?? 5_000;
    try {
      await this.watched.waitUntil(() => this.watched.keyRevision(key) >= revision, timeoutMs, `revision ${revision} of ${key}`);
    } catch (err) {
      // The write itself succeeded; the snapshot catches up when the watch does.
      if (err instanceof MetadataTimeoutError) this.warn('a write is not yet visible in the snapshot', { key, revision, timeoutMs });
      else if (!(err instanceof StoreClosedError)) throw err;
    }
  }

  // ---- helpers ----

  /**
   * Writes `value` over the entry read as `e` by compare-and-set: an update at its revision, or a create when
   * there was none (another writer creating it first is the same as a lost compare-and-set). Returns the
   * new revision.
   */
  private async writeOver(key: string, e: { revision: number } | null | undefined, value: Uint8Array): Promise<number> {
    if (e) return this.kv.update(key, value, e.revision);
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      if (err instanceof KeyExistsError) throw new RevisionMismatchError(key, 0, err);
      throw err;
    }
  }

  private async retryCas(key: string, what: string, attempt: () => Promise<void>): Promise<void> {
    const max = this.opts.maxUpdateAttempts ?? 16;
    let lastConflict: unknown;
    for (let i = 0; i < max; i++) {
      this.assertOpen();
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof RevisionMismatchError)) throw err;
        lastConflict = err; // someone else wrote in between: read again and retry
      }
    }
    const name = parseKey(key);
    throw new UpdateConflictError(name.kind === 'topic' ? name.name : what, max, lastConflict);
  }

  private keyOfTopic(name: string): string {
    const problem = topicNameProblem(name);
    if (problem) throw new InvalidTopicError(name, problem);
    return topicKey(name);
  }

  private assertOpen(): void {
    if (this.watched.closed) throw new StoreClosedError();
  }
}

/** Kafka's cluster id format (22 characters of URL-safe base64 of a 16-byte UUID), from a fresh ULID. */
function newClusterId(ulid: string): string {
  return Buffer.from(ulidToUUID(ulid).replaceAll('-', ''), 'hex').toString('base64url');
}
