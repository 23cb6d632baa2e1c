// The partitions of an internal topic that this broker leads, each with the state a coordinator keeps for it: the
// machinery Kafka's group and transaction coordinators share (CoordinatorRuntime). A coordinator for key K is the
// leader of partition partitionFor(K) of its topic (`__consumer_offsets`, `__transaction_state`); this object
// follows which of those partitions this broker leads — from the cluster metadata and the replicas' own state,
// since a replica becomes leader after its log recovered — loads a partition's shard when it starts leading it
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile) and unloads it when it stops (NOT_COORDINATOR from then on), and
// creates the topic on first use as Kafka auto-creates its internal topics.
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import type { PartitionRegistry } from './partition-registry.ts';
import type { PartitionReplica } from './partition-replica.ts';
import type { TopicAdmin } from './topic-admin.ts';
import { liveBrokerIds } from './topic-admin.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Logger } from '../util/logger.ts';

export interface Shard {
  readonly replica: PartitionReplica;
  /** The leader epoch the shard was loaded under: a later one means leadership was lost in between. */
  readonly leaderEpoch: number;
  unload(): void;
}

export interface InternalTopicShardsOptions<S extends Shard> {
  topic: string;
  /** What the shards coordinate, for log lines ("groups", "transactions"). */
  what: string;
  /** The partition count used when the topic is created. */
  partitions: number;
  /** Topic configs at creation (cleanup.policy=compact). */
  configs: Record<string, string>;
  brokerId: number;
  metadata: MetadataStore;
  registry: PartitionRegistry;
  topics: TopicAdmin;
  logger: Logger;
  clock: Clock;
  /** Reads the partition's log into a shard; the shard answers once this resolves. */
  load(partition: number, replica: PartitionReplica, leaderEpoch: number): Promise<S>;
  /** How often leadership is re-checked besides metadata changes and `replicaLeads` (a safety net). */
  pollMs?: number;
}

export type Routed<S> = { shard: S; errorCode?: undefined } | { shard?: undefined; errorCode: number };

interface Loading<S> {
  leaderEpoch: number;
  done: Promise<void>;
  /** Work for the shard that arrived while it loaded, applied once it has, before anyone else sees it. */
  queued: Array<(shard: S) => void>;
}

export class InternalTopicShards<S extends Shard> {
  private readonly shards = new Map<number, S>();
  private readonly loading = new Map<number, Loading<S>>();
  private creating: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(readonly opts: InternalTopicShardsOptions<S>) {}

  start(): void {
    this.unsubscribe = this.opts.metadata.subscribe((next, prev) => void (next.topics !== prev.topics && this.reconcile()));
    // A replica turns leader once its log is recovered, which no metadata change announces: the registry
    // says so (replicaLeads), and a slow poll catches whatever else.
    this.timer = this.opts.clock.setInterval(() => this.reconcile(), this.opts.pollMs ?? 1000);
    this.reconcile();
  }

  /** A replica on this broker started leading: load its shard now if it is a partition of this topic. */
  replicaLeads(topic: string): void {
    if (topic === this.opts.topic) this.reconcile();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== null) this.opts.clock.clearInterval(this.timer);
    for (const shard of this.shards.values()) shard.unload();
    this.shards.clear();
    this.loading.clear();
  }

  /** The topic's partition count: its own once it exists, else the count it will be created with. */
  partitionCount(): number {
    return this.opts.metadata.snapshot().topics[this.opts.topic]?.partitions.length ?? this.opts.partitions;
  }

  /** The shard of the partition here, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS. */
  route(partition: number): Routed<S> {
    let shard = this.shards.get(partition);
    // A shard whose replica stopped leading (or leads in a newer epoch) since the last reconcile must not
    // answer: its state may miss writes another leader took meanwhile.
    if (shard && !stillLeads(shard)) {
      this.reconcile();
      shard = this.shards.get(partition);
    }
    if (shard) return { shard };
    if (this.loading.has(partition)) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    // The metadata already names this broker the leader but its replica has not taken over yet: it is about
    // to load, so the client should retry here rather than look for another coordinator.
    if (this.opts.metadata.snapshot().topics[this.opts.topic]?.partitions[partition]?.leader === this.opts.brokerId) {
      this.reconcile();
      const loaded = this.shards.get(partition);
      return loaded ? { shard: loaded } : { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return { errorCode: ErrorCode.NOT_COORDINATOR };
  }

  /**
   * Runs fn on the partition's shard: now if it is loaded, once it is if it is loading (the loader may or may
   * not have read what fn reacts to, so fn must be harmless to apply twice), never if this broker does not lead it.
   */
  withShard(partition: number, fn: (shard: S) => void): void {
    const shard = this.shards.get(partition);
    if (shard) fn(shard);
    else this.loading.get(partition)?.queued.push(fn);
  }

  /** Every shard this broker has loaded. */
  loaded(): S[] {
    return [...this.shards.values()];
  }

  /** Creates the topic on first use (FindCoordinator), as Kafka's auto-creation of its internal topics. */
  async ensureTopic(timeoutMs = 10_000): Promise<boolean> {
    const { topic } = this.opts;
    if (this.opts.metadata.snapshot().topics[topic]) return true;
    this.creating ??= (async () => {
      const brokers = liveBrokerIds(this.opts.metadata.snapshot()).length;
      const result = await this.opts.topics.create({ name: topic, numPartitions: this.opts.partitions, replicationFactor: Math.max(1, Math.min(3, brokers)), configs: this.opts.configs });
      if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        this.opts.logger.warn('could not create an internal topic', { topic, errorCode: result.errorCode, reason: result.errorMessage });
      }
      await this.opts.topics.waitReady(topic, timeoutMs);
      this.reconcile();
    })().finally(() => (this.creating = null));
    await this.creating;
    return this.opts.metadata.snapshot().topics[topic] !== undefined;
  }

  /** Waits (bounded) until the partition this broker leads has loaded; false when it does not lead it. */
  async waitLoaded(partition: number, timeoutMs: number): Promise<boolean> {
    const deadline = this.opts.clock.wall() + timeoutMs;
    const pause = (ms: number) => new Promise<void>((r) => this.opts.clock.setTimeout(r, ms));
    for (;;) {
      this.reconcile();
      if (this.shards.has(partition)) return true;
      const loading = this.loading.get(partition);
      const left = deadline - this.opts.clock.wall();
      if (left <= 0) return false;
      if (loading) await Promise.race([loading.done, pause(Math.min(left, 50))]);
      else {
        const replica = this.opts.registry.get(this.opts.topic, partition);
        const p = this.opts.metadata.snapshot().topics[this.opts.topic]?.partitions[partition];
        if (!replica || !p || p.leader !== this.opts.brokerId) return false;
        await pause(Math.min(left, 50));
      }
    }
  }

  /** Starts loading partitions this broker now leads and unloads those it no longer leads. */
  reconcile(): void {
    if (this.stopped) return;
    const { topic } = this.opts;
    const count = this.opts.metadata.snapshot().topics[topic]?.partitions.length ?? 0;
    for (let p = 0; p < count; p++) {
      const replica = this.opts.registry.get(topic, p);
      const leading = replica !== undefined && replica.role === 'leader' && replica.log !== null;
      const epoch = leading ? replica.leaderEpoch : -1;
      const shard = this.shards.get(p);
      const loading = this.loading.get(p);
      if (shard && (shard.replica !== replica || !stillLeads(shard))) {
        this.opts.logger.info(`no longer coordinating the ${this.opts.what} of a partition`, { topic, partition: p });
        shard.unload();
        this.shards.delete(p);
      }
      if (loading && loading.leaderEpoch !== epoch) this.loading.delete(p);
      if (leading && !this.shards.has(p) && !this.loading.has(p)) this.load(p, replica, epoch);
    }
    for (const [p, shard] of [...this.shards]) {
      if (p >= count) {
        shard.unload();
        this.shards.delete(p);
      }
    }
  }

  private load(partition: number, replica: PartitionReplica, leaderEpoch: number): void {
    const entry = { leaderEpoch, queued: [] } as unknown as Loading<S>;
    this.loading.set(partition, entry);
    const { topic, what } = this.opts;
    entry.done = (async () => {
      const started = this.opts.clock.wall();
      try {
        const shard = await this.opts.load(partition, replica, leaderEpoch);
        if (this.loading.get(partition) !== entry || this.stopped) return shard.unload(); // leadership moved meanwhile
        for (const fn of entry.queued) fn(shard);
        this.loading.delete(partition);
        this.shards.set(partition, shard);
        this.opts.logger.info(`coordinating the ${what} of a partition`, { topic, partition, leaderEpoch, ms: this.opts.clock.wall() - started });
      } catch (err) {
        this.opts.logger.error(`loading the ${what} of a partition failed; will retry`, { topic, partition, error: err as Error });
        if (this.loading.get(partition) === entry) this.loading.delete(partition);
      }
    })();
  }
}

function stillLeads(shard: Shard): boolean {
  const r = shard.replica;
  return r.role === 'leader' && r.log !== null && r.leaderEpoch === shard.leaderEpoch;
}
