// Kafka's group coordinator on this broker. Group G is coordinated by the leader of partition
// partitionFor(G) of `__consumer_offsets` (offsets-topic.ts). This object follows which of those partitions
// this broker leads — from the cluster metadata and the replicas' own state, since a replica becomes leader
// after its log recovered — loads a partition's groups and offsets when it starts leading it (answering
// COORDINATOR_LOAD_IN_PROGRESS meanwhile) and drops them when it stops (NOT_COORDINATOR from then on).
//
// Group requests go to the group's actor (one event per request); committed offsets are plain data in the
// shard's cache, written through the partition with acks=all before they become visible. Offsets written in a
// transaction (TxnOffsetCommit) become visible when the marker writer reports the producer's marker on the
// partition (completeTransaction).
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import type { PartitionRegistry } from '../broker/partition-registry.ts';
import type { TopicAdmin } from '../broker/topic-admin.ts';
import { liveBrokerIds } from '../broker/topic-admin.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Logger } from '../util/logger.ts';
import { CoordinatorShard } from './coordinator-shard.ts';
import { loadOffsetsPartition, splitTopicPartitionKey } from './offsets-loader.ts';
import type { LiveActor } from '../inspect/inspection-hub.ts';
import type { GroupSummary } from '../inspect/actor-directory.ts';
import { DEFAULT_OFFSETS_PARTITIONS, OFFSETS_TOPIC, partitionForGroup } from './offsets-topic.ts';

export interface GroupCoordinatorOptions {
  brokerId: number;
  metadata: MetadataStore;
  registry: PartitionRegistry;
  topics: TopicAdmin;
  logger: Logger;
  clock: Clock;
  /** offsets.topic.num.partitions (Kafka's default is 50; Kastor's 10). */
  offsetsPartitions?: number;
  /** group.initial.rebalance.delay.ms. */
  initialRebalanceDelayMs?: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms. */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** offset.metadata.max.bytes. */
  maxMetadataBytes?: number;
  /** How long an acks=all write to __consumer_offsets may take (offsets.commit.timeout.ms). */
  writeTimeoutMs?: number;
  /** How often leadership is re-checked besides metadata changes and `replicaLeads` (a safety net). */
  pollMs?: number;
  /** Called at each rebalance a group here starts (the broker's kastor_group_rebalances_total). */
  onRebalance?: () => void;
}

export type Routed = { shard: CoordinatorShard; errorCode?: undefined } | { shard?: undefined; errorCode: number };

interface Loading {
  leaderEpoch: number;
  done: Promise<void>;
  /** Markers written while the partition loads, applied once it has: the loader may have read past them or not. */
  completions: Array<{ producerId: number; committed: boolean }>;
}

export class GroupCoordinator {
  private readonly shards = new Map<number, CoordinatorShard>();
  private readonly loading = new Map<number, Loading>();
  private creating: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;
  readonly settings: Required<Omit<GroupCoordinatorOptions, 'onRebalance' | 'brokerId' | 'metadata' | 'registry' | 'topics' | 'logger' | 'clock'>>;

  constructor(readonly opts: GroupCoordinatorOptions) {
    this.settings = {
      offsetsPartitions: opts.offsetsPartitions ?? DEFAULT_OFFSETS_PARTITIONS,
      initialRebalanceDelayMs: opts.initialRebalanceDelayMs ?? 3000,
      minSessionTimeoutMs: opts.minSessionTimeoutMs ?? 6000,
      maxSessionTimeoutMs: opts.maxSessionTimeoutMs ?? 1_800_000,
      maxMetadataBytes: opts.maxMetadataBytes ?? 4096,
      writeTimeoutMs: opts.writeTimeoutMs ?? 5000,
      pollMs: opts.pollMs ?? 1000,
    };
  }

  start(): void {
    this.unsubscribe = this.opts.metadata.subscribe((next, prev) => void (next.topics !== prev.topics && this.reconcile()));
    // A replica turns leader once its log is recovered, which no metadata change announces: the registry
    // says so (replicaLeads), and a slow poll catches whatever else.
    this.timer = this.opts.clock.setInterval(() => this.reconcile(), this.settings.pollMs);
    this.reconcile();
  }

  /** A replica on this broker started leading: load its shard now if it is a __consumer_offsets partition. */
  replicaLeads(topic: string): void {
    if (topic === OFFSETS_TOPIC) this.reconcile();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== null) this.opts.clock.clearInterval(this.timer);
    for (const shard of this.shards.values()) shard.unload();
    this.shards.clear();
    this.loading.clear();
  }

  /** The number of __consumer_offsets partitions: the topic's own count once it exists. */
  partitionCount(): number {
    return this.opts.metadata.snapshot().topics[OFFSETS_TOPIC]?.partitions.length ?? this.settings.offsetsPartitions;
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.partitionCount());
  }

  /** The shard coordinating the group here, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS. */
  route(groupId: string): Routed {
    if (!groupId) return { errorCode: ErrorCode.INVALID_GROUP_ID };
    const p = this.partitionFor(groupId);
    let shard = this.shards.get(p);
    // A shard whose replica stopped leading (or leads in a newer epoch) since the last reconcile must not
    // answer: its cache may miss commits another leader took meanwhile.
    if (shard && !shardStillLeads(shard)) {
      this.reconcile();
      shard = this.shards.get(p);
    }
    if (shard) return { shard };
    if (this.loading.has(p)) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    // The metadata already names this broker the leader but its replica has not taken over yet: it is about
    // to load, so the client should retry here rather than look for another coordinator.
    if (this.opts.metadata.snapshot().topics[OFFSETS_TOPIC]?.partitions[p]?.leader === this.opts.brokerId) {
      this.reconcile();
      if (this.shards.has(p)) return { shard: this.shards.get(p)! };
      return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return { errorCode: ErrorCode.NOT_COORDINATOR };
  }

  /**
   * A transaction marker of the producer was appended on this __consumer_offsets partition (txn-markers.ts):
   * its pending offsets there become visible (COMMIT) or are dropped (ABORT), as Kafka's
   * GroupCoordinator.scheduleHandleTxnCompletion. Applying one again is harmless: the producer cannot write new
   * transactional offsets here before every marker of its transaction was written (CONCURRENT_TRANSACTIONS).
   */
  completeTransaction(partition: number, producerId: number, committed: boolean): void {
    const shard = this.shards.get(partition);
    if (shard) shard.completeTransaction(producerId, committed);
    else this.loading.get(partition)?.completions.push({ producerId, committed });
  }

  /** Every shard this broker has loaded (ListGroups answers for the groups this broker coordinates). */
  loadedShards(): CoordinatorShard[] {
    return [...this.shards.values()];
  }

  /** The group actors this broker runs, named `group-<id>@broker-<n>`, for the dashboard's actor directory. */
  liveActors(): LiveActor[] {
    return this.loadedShards().flatMap((shard) =>
      [...shard.groups.values()].map((g) => ({ systemId: `group-${g.groupId}@broker-${this.opts.brokerId}`, kind: 'group' as const, actor: g.actor })),
    );
  }

  /** What the dashboard shows per group: state, generation, members and committed offsets. */
  summaries(): GroupSummary[] {
    return this.loadedShards().flatMap((shard) =>
      [...shard.groups.values()].map((g) => ({
        groupId: g.groupId,
        state: g.state,
        generation: g.context.generationId,
        members: Object.keys(g.context.members).length,
        offsets: [...(shard.offsets.get(g.groupId) ?? new Map())].map(([key, o]) => ({ ...splitTopicPartitionKey(key), committed: Number(o.offset) })),
      })),
    );
  }

  /** Creates __consumer_offsets on first use (FindCoordinator), as Kafka's auto-creation of the internal topic. */
  async ensureOffsetsTopic(timeoutMs = 10_000): Promise<boolean> {
    if (this.opts.metadata.snapshot().topics[OFFSETS_TOPIC]) return true;
    this.creating ??= (async () => {
      const brokers = liveBrokerIds(this.opts.metadata.snapshot()).length;
      const result = await this.opts.topics.create({
        name: OFFSETS_TOPIC,
        numPartitions: this.settings.offsetsPartitions,
        replicationFactor: Math.max(1, Math.min(3, brokers)),
        configs: { 'cleanup.policy': 'compact' },
      });
      if (result.errorCode !== ErrorCode.NONE && result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        this.opts.logger.warn('could not create the offsets topic', { topic: OFFSETS_TOPIC, errorCode: result.errorCode, reason: result.errorMessage });
      }
      await this.opts.topics.waitReady(OFFSETS_TOPIC, timeoutMs);
      this.reconcile();
    })().finally(() => (this.creating = null));
    await this.creating;
    return this.opts.metadata.snapshot().topics[OFFSETS_TOPIC] !== undefined;
  }

  /** Waits (bounded) until the partition this broker leads has loaded; false when it does not lead it. */
  async waitLoaded(partition: number, timeoutMs: number): Promise<boolean> {
    const deadline = this.opts.clock.wall() + timeoutMs;
    for (;;) {
      this.reconcile();
      if (this.shards.has(partition)) return true;
      const loading = this.loading.get(partition);
      const left = deadline - this.opts.clock.wall();
      if (left <= 0) return false;
      if (loading) await Promise.race([loading.done, new Promise<void>((r) => this.opts.clock.setTimeout(r, Math.min(left, 50)))]);
      else {
        const replica = this.opts.registry.get(OFFSETS_TOPIC, partition);
        const p = this.opts.metadata.snapshot().topics[OFFSETS_TOPIC]?.partitions[partition];
        if (!replica || !p || p.leader !== this.opts.brokerId) return false;
        await new Promise<void>((r) => this.opts.clock.setTimeout(r, Math.min(left, 50)));
      }
    }
  }

  /** Starts loading partitions this broker now leads and unloads those it no longer leads. */
  reconcile(): void {
    if (this.stopped) return;
    const topic = this.opts.metadata.snapshot().topics[OFFSETS_TOPIC];
    const count = topic?.partitions.length ?? 0;
    for (let p = 0; p < count; p++) {
      const replica = this.opts.registry.get(OFFSETS_TOPIC, p);
      const leading = replica !== undefined && replica.role === 'leader' && replica.log !== null;
      const epoch = leading ? replica.leaderEpoch : -1;
      const shard = this.shards.get(p);
      const loading = this.loading.get(p);
      if (shard && (shard.opts.replica !== replica || !shardStillLeads(shard))) {
        this.opts.logger.info('no longer coordinating the groups of an offsets partition', { topic: OFFSETS_TOPIC, partition: p });
        shard.unload();
        this.shards.delete(p);
      }
      if (loading && loading.leaderEpoch !== epoch) this.loading.delete(p);
      if (leading && !this.shards.has(p) && !this.loading.has(p)) this.load(p, epoch);
    }
    for (const p of [...this.shards.keys()]) {
      if (p >= count) {
        this.shards.get(p)!.unload();
        this.shards.delete(p);
      }
    }
  }

  private load(partition: number, leaderEpoch: number): void {
    const replica = this.opts.registry.get(OFFSETS_TOPIC, partition)!;
    const entry = { leaderEpoch, completions: [] as Loading['completions'] } as Loading;
    this.loading.set(partition, entry);
    entry.done = (async () => {
      const started = this.opts.clock.wall();
      try {
        const log = replica.log;
        if (!log) throw new Error('the replica has no open log');
        const loaded = await loadOffsetsPartition(log);
        if (this.loading.get(partition) !== entry || this.stopped) return; // leadership moved meanwhile
        const shard = new CoordinatorShard({
          partition,
          replica,
          leaderEpoch,
          initialRebalanceDelayMs: this.settings.initialRebalanceDelayMs,
          writeTimeoutMs: this.settings.writeTimeoutMs,
          clock: this.opts.clock,
          logger: this.opts.logger,
          onRebalance: this.opts.onRebalance,
        });
        shard.adopt(loaded);
        for (const c of entry.completions) shard.completeTransaction(c.producerId, c.committed);
        this.loading.delete(partition);
        this.shards.set(partition, shard);
        this.opts.logger.info('coordinating the groups of an offsets partition', {
          topic: OFFSETS_TOPIC,
          partition,
          leaderEpoch,
          groups: shard.groups.size,
          skippedRecords: loaded.skipped,
          ms: this.opts.clock.wall() - started,
        });
      } catch (err) {
        this.opts.logger.error('loading an offsets partition failed; will retry', { topic: OFFSETS_TOPIC, partition, error: err as Error });
        if (this.loading.get(partition) === entry) this.loading.delete(partition);
      }
      })();
  }
}

function shardStillLeads(shard: CoordinatorShard): boolean {
  const r = shard.opts.replica;
  return r.role === 'leader' && r.log !== null && r.leaderEpoch === shard.opts.leaderEpoch;
}
