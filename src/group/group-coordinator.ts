// Kafka's group coordinator on this broker. Group G is coordinated by the leader of partition
// partitionFor(G) of `__consumer_offsets` (offsets-topic.ts). Which of those partitions this broker leads, their
// loading (COORDINATOR_LOAD_IN_PROGRESS meanwhile) and unloading (NOT_COORDINATOR from then on) are the
// machinery every coordinator shares (InternalTopicShards); a loaded partition is a CoordinatorShard.
//
// Group requests go to the group's actor (one event per request); committed offsets are plain data in the
// shard's cache, written through the partition with acks=all before they become visible. Offsets written in a
// transaction (TxnOffsetCommit) become visible when the marker writer reports the producer's marker on the
// partition (completeTransaction).
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { Clock } from '../runtime/clock.ts';
import type { PartitionRegistry } from '../broker/partition-registry.ts';
import type { PartitionReplica } from '../broker/partition-replica.ts';
import type { TopicAdmin } from '../broker/topic-admin.ts';
import { InternalTopicShards } from '../broker/internal-topic-shards.ts';
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

export class GroupCoordinator {
  private readonly shards: InternalTopicShards<CoordinatorShard>;
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
    this.shards = new InternalTopicShards<CoordinatorShard>({
      topic: OFFSETS_TOPIC,
      what: 'groups',
      partitions: this.settings.offsetsPartitions,
      configs: { 'cleanup.policy': 'compact' },
      brokerId: opts.brokerId,
      metadata: opts.metadata,
      registry: opts.registry,
      topics: opts.topics,
      logger: opts.logger,
      clock: opts.clock,
      pollMs: this.settings.pollMs,
      load: (partition, replica, leaderEpoch) => this.load(partition, replica, leaderEpoch),
    });
  }

  start(): void {
    this.shards.start();
  }

  /** A replica on this broker started leading: load its shard now if it is a __consumer_offsets partition. */
  replicaLeads(topic: string): void {
    this.shards.replicaLeads(topic);
  }

  stop(): void {
    this.shards.stop();
  }

  /** The number of __consumer_offsets partitions: the topic's own count once it exists. */
  partitionCount(): number {
    return this.shards.partitionCount();
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.partitionCount());
  }

  /** The shard coordinating the group here, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS. */
  route(groupId: string): Routed {
    if (!groupId) return { errorCode: ErrorCode.INVALID_GROUP_ID };
    return this.shards.route(this.partitionFor(groupId));
  }

  /**
   * A transaction marker of the producer was appended on this __consumer_offsets partition (txn-markers.ts):
   * its pending offsets there become visible (COMMIT) or are dropped (ABORT), as Kafka's
   * GroupCoordinator.scheduleHandleTxnCompletion; a partition still loading applies it once loaded (the loader
   * may have read past the marker or not). Applying one again is harmless: the producer cannot write new
   * transactional offsets here before every marker of its transaction was written (CONCURRENT_TRANSACTIONS).
   */
  completeTransaction(partition: number, producerId: number, committed: boolean): void {
    this.shards.withShard(partition, (shard) => shard.completeTransaction(producerId, committed));
  }

  /** Every shard this broker has loaded (ListGroups answers for the groups this broker coordinates). */
  loadedShards(): CoordinatorShard[] {
    return this.shards.loaded();
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
  ensureOffsetsTopic(timeoutMs = 10_000): Promise<boolean> {
    return this.shards.ensureTopic(timeoutMs);
  }

  /** Waits (bounded) until the partition this broker leads has loaded; false when it does not lead it. */
  waitLoaded(partition: number, timeoutMs: number): Promise<boolean> {
    return this.shards.waitLoaded(partition, timeoutMs);
  }

  private async load(partition: number, replica: PartitionReplica, leaderEpoch: number): Promise<CoordinatorShard> {
    const log = replica.log;
    if (!log) throw new Error('the replica has no open log');
    const loaded = await loadOffsetsPartition(log);
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
    if (loaded.skipped > 0) this.opts.logger.warn('records of __consumer_offsets skipped at load', { partition, skipped: loaded.skipped });
    this.opts.logger.info('groups loaded', { topic: OFFSETS_TOPIC, partition, groups: shard.groups.size });
    return shard;
  }
}
