// What this broker holds for one __consumer_offsets partition it leads (Kafka's GroupMetadataManager state for
// one partition): the registry of group actors, the committed offsets cache, and the appends of offset and
// group records to the partition, with acks=all through the replica so a new leader finds them.
import type { PartitionReplica } from '../broker/partition-replica.ts';
import type { Clock } from '../runtime/clock.ts';
import { KafkaError } from '../broker/kafka-error.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { buildRecordBatch, type RecordInput } from '../protocol/record-batch.ts';
import type { Logger } from '../util/logger.ts';
import { GroupActor } from './group-actor.ts';
import type { PersistedGroup } from './group-types.ts';
import { encodeGroup, encodeOffset, groupKey, offsetKey, type CommittedOffset } from './offsets-record-format.ts';
import { topicPartitionKey, type LoadedPartition } from './offsets-loader.ts';
import { OFFSETS_TOPIC } from './offsets-topic.ts';

export interface ShardOptions {
  partition: number;
  replica: PartitionReplica;
  /** The leader epoch this shard was loaded under: a later epoch means leadership was lost in between. */
  leaderEpoch: number;
  initialRebalanceDelayMs: number;
  writeTimeoutMs: number;
  /** Record timestamps (wall) and the groups' session and rebalance timers. */
  clock: Clock;
  logger: Logger;
  onRebalance?: () => void;
}

/** Kafka's mapping of append errors to coordinator errors (GroupMetadataManager.storeOffsets / storeGroup). */
export function coordinatorErrorOf(err: unknown): number {
  if (!(err instanceof KafkaError)) return ErrorCode.UNKNOWN_SERVER_ERROR;
  switch (err.errorCode) {
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

export class CoordinatorShard {
  readonly groups = new Map<string, GroupActor>();
  /** group → "topic\0partition" → committed offset. */
  readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private unloaded = false;

  constructor(readonly opts: ShardOptions) {}

  /** Fills the shard from what the loader read; every group found becomes an actor (offset-only groups are Empty). */
  adopt(loaded: LoadedPartition): void {
    for (const [group, offsets] of loaded.offsets) if (offsets.size > 0) this.offsets.set(group, offsets);
    const ids = new Set([...loaded.groups.keys(), ...this.offsets.keys()]);
    for (const id of ids) this.createGroup(id, loaded.groups.get(id) ?? null);
  }

  group(groupId: string): GroupActor | undefined {
    return this.groups.get(groupId);
  }

  getOrCreateGroup(groupId: string): GroupActor {
    return this.groups.get(groupId) ?? this.createGroup(groupId, null);
  }

  private createGroup(groupId: string, loaded: PersistedGroup | null): GroupActor {
    const actor: GroupActor = new GroupActor({
      groupId,
      initialDelayMs: this.opts.initialRebalanceDelayMs,
      loaded,
      clock: this.opts.clock,
      onPersist: (g) => void this.writeGroup(groupId, g),
      onRebalance: this.opts.onRebalance,
      onDead: () => {
        if (this.groups.get(groupId) === actor) this.groups.delete(groupId);
      },
    });
    this.groups.set(groupId, actor);
    return actor;
  }

  /** Appends records with acks=all; resolves with an error code (NONE once the high watermark passed them). */
  async append(records: RecordInput[]): Promise<number> {
    if (this.unloaded) return ErrorCode.NOT_COORDINATOR;
    if (records.length === 0) return ErrorCode.NONE;
    try {
      const batch = buildRecordBatch({ records, timestamp: this.opts.clock.wall() });
      await this.opts.replica.produce(batch, -1, this.opts.writeTimeoutMs);
      return this.unloaded ? ErrorCode.NOT_COORDINATOR : ErrorCode.NONE;
    } catch (err) {
      const code = coordinatorErrorOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) this.opts.logger.error('writing to __consumer_offsets failed', { partition: this.opts.partition, error: err as Error });
      return code;
    }
  }

  private async writeGroup(groupId: string, g: PersistedGroup): Promise<void> {
    const code = await this.append([{ key: groupKey(groupId), value: encodeGroup(g) }]);
    if (code !== ErrorCode.NONE) this.opts.logger.warn('group metadata was not written', { group: groupId, errorCode: code, topic: OFFSETS_TOPIC, partition: this.opts.partition });
  }

  /** Writes the commits and, once they are replicated, makes them visible to OffsetFetch. */
  async commit(groupId: string, commits: Array<{ topic: string; partition: number; value: CommittedOffset }>): Promise<number> {
    const code = await this.append(commits.map((c) => ({ key: offsetKey(groupId, c.topic, c.partition), value: encodeOffset(c.value) })));
    if (code !== ErrorCode.NONE) return code;
    let forGroup = this.offsets.get(groupId);
    if (!forGroup) this.offsets.set(groupId, (forGroup = new Map()));
    for (const c of commits) forGroup.set(topicPartitionKey(c.topic, c.partition), c.value);
    return ErrorCode.NONE;
  }

  /** Tombstones for the given offsets (OffsetDelete) — or all of the group's plus its metadata (DeleteGroups). */
  async deleteOffsets(groupId: string, which: Array<{ topic: string; partition: number }> | 'all'): Promise<number> {
    const forGroup = this.offsets.get(groupId);
    const keys = which === 'all' ? [...(forGroup?.keys() ?? [])] : which.map((w) => topicPartitionKey(w.topic, w.partition)).filter((k) => forGroup?.has(k));
    const records: RecordInput[] = keys.map((k) => {
      const i = k.lastIndexOf('\u0000');
      return { key: offsetKey(groupId, k.slice(0, i), Number(k.slice(i + 1))), value: null };
    });
    if (which === 'all') records.push({ key: groupKey(groupId), value: null });
    const code = await this.append(records);
    if (code !== ErrorCode.NONE) return code;
    for (const k of keys) forGroup?.delete(k);
    if (which === 'all' || forGroup?.size === 0) this.offsets.delete(groupId);
    return ErrorCode.NONE;
  }

  /** Leadership moved: parked requests are answered NOT_COORDINATOR and the groups stop. */
  unload(): void {
    this.unloaded = true;
    for (const g of [...this.groups.values()]) g.unload();
    this.groups.clear();
    this.offsets.clear();
  }
}
