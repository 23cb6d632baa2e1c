// What this broker holds for one __consumer_offsets partition it leads (Kafka's GroupMetadataManager state for
// one partition): the registry of group actors, the committed offsets cache, and the appends of offset and
// group records to the partition, with acks=all through the replica so a new leader finds them.
//
// Offsets committed inside a transaction (TxnOffsetCommit, KIP-98) are written as one transactional batch of
// the producer and held pending, invisible to OffsetFetch, until the producer's marker lands on this partition:
// COMMIT makes them visible (Kafka's GroupMetadata.completePendingTxnOffsetCommit), ABORT drops them.
import type { PartitionReplica, ProduceOptions } from '../broker/partition-replica.ts';
import type { Clock } from '../runtime/clock.ts';
import { KafkaError } from '../broker/kafka-error.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { buildRecordBatch, type RecordInput } from '../protocol/record-batch.ts';
import type { Logger } from '../util/logger.ts';
import { GroupActor } from './group-actor.ts';
import type { PersistedGroup } from './group-types.ts';
import { encodeGroup, encodeOffset, groupKey, offsetKey, type CommittedOffset } from './offsets-record-format.ts';
import { applyTxnOffsets, putOffset, topicPartitionKey, type GroupOffsets, type LoadedPartition } from './offsets-loader.ts';
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
    // A transactional write's producer checks (TxnOffsetCommit): Kafka passes the append's error on as it is.
    case ErrorCode.INVALID_PRODUCER_EPOCH:
    case ErrorCode.PRODUCER_FENCED:
    case ErrorCode.INVALID_TXN_STATE:
    case ErrorCode.UNKNOWN_PRODUCER_ID:
      return err.errorCode;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

export type OffsetCommitEntry = { topic: string; partition: number; value: CommittedOffset };

export class CoordinatorShard {
  readonly groups = new Map<string, GroupActor>();
  /** group → "topic\0partition" → committed offset. */
  readonly offsets: GroupOffsets = new Map();
  /** producerId → group → "topic\0partition" → offset written in the producer's open transaction. */
  readonly pendingTxnOffsets = new Map<number, GroupOffsets>();
  /** "group\0topic\0partition" → transactional writes in flight, unstable already (Kafka's prepareTxnOffsetCommit). */
  private readonly txnWrites = new Map<string, number>();
  private unloaded = false;

  constructor(readonly opts: ShardOptions) {}

  get replica(): PartitionReplica {
    return this.opts.replica;
  }

  get leaderEpoch(): number {
    return this.opts.leaderEpoch;
  }

  /** Fills the shard from what the loader read; every group found becomes an actor (offset-only groups are Empty). */
  adopt(loaded: LoadedPartition): void {
    for (const [group, offsets] of loaded.offsets) if (offsets.size > 0) this.offsets.set(group, offsets);
    for (const [producerId, byGroup] of loaded.pendingTxnOffsets) this.pendingTxnOffsets.set(producerId, byGroup);
    const pendingGroups = [...this.pendingTxnOffsets.values()].flatMap((byGroup) => [...byGroup.keys()]);
    const ids = new Set([...loaded.groups.keys(), ...this.offsets.keys(), ...pendingGroups]);
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
    return (await this.appendBatch(records)).errorCode;
  }

  /** One batch of records (a producer's transactional one when `txn` is given), acks=all, and where it landed. */
  private async appendBatch(records: RecordInput[], txn?: { producerId: number; producerEpoch: number }): Promise<{ errorCode: number; baseOffset: number }> {
    const failed = (errorCode: number) => ({ errorCode, baseOffset: -1 });
    if (this.unloaded) return failed(ErrorCode.NOT_COORDINATOR);
    if (records.length === 0) return failed(ErrorCode.NONE);
    try {
      const timestamp = this.opts.clock.wall();
      let opts: ProduceOptions = {};
      let batch: Buffer;
      if (txn) {
        batch = buildRecordBatch({ records, timestamp, producerId: txn.producerId, producerEpoch: txn.producerEpoch, baseSequence: -1, isTransactional: true });
        opts = { origin: 'coordinator' };
      } else batch = buildRecordBatch({ records, timestamp });
      const { baseOffset } = await this.opts.replica.produce(batch, -1, this.opts.writeTimeoutMs, opts);
      return this.unloaded ? failed(ErrorCode.NOT_COORDINATOR) : { errorCode: ErrorCode.NONE, baseOffset };
    } catch (err) {
      const code = coordinatorErrorOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) this.opts.logger.error('writing to __consumer_offsets failed', { partition: this.opts.partition, error: err as Error });
      return failed(code);
    }
  }

  private async writeGroup(groupId: string, g: PersistedGroup): Promise<void> {
    const code = await this.append([{ key: groupKey(groupId), value: encodeGroup(g) }]);
    if (code !== ErrorCode.NONE) this.opts.logger.warn('group metadata was not written', { group: groupId, errorCode: code, topic: OFFSETS_TOPIC, partition: this.opts.partition });
  }

  /** Writes the commits and, once they are replicated, makes them visible to OffsetFetch. */
  async commit(groupId: string, commits: OffsetCommitEntry[]): Promise<number> {
    const written = await this.appendBatch(offsetRecords(groupId, commits));
    if (written.errorCode === ErrorCode.NONE) this.putAll(this.offsets, groupId, commits, written.baseOffset);
    return written.errorCode;
  }

  /**
   * TxnOffsetCommit: writes the commits as one transactional batch of the producer (its epoch checked by the
   * partition, as Kafka's AppendOrigin.COORDINATOR) and holds them pending until its marker (completeTransaction).
   * They count as unstable from the moment the write starts, as Kafka's prepareTxnOffsetCommit.
   */
  async commitTxn(groupId: string, producerId: number, producerEpoch: number, commits: OffsetCommitEntry[]): Promise<number> {
    const keys = commits.map((c) => `${groupId}\u0000${topicPartitionKey(c.topic, c.partition)}`);
    for (const k of keys) this.txnWrites.set(k, (this.txnWrites.get(k) ?? 0) + 1);
    try {
      const written = await this.appendBatch(offsetRecords(groupId, commits), { producerId, producerEpoch });
      if (written.errorCode !== ErrorCode.NONE) return written.errorCode;
      let byGroup = this.pendingTxnOffsets.get(producerId);
      if (!byGroup) this.pendingTxnOffsets.set(producerId, (byGroup = new Map()));
      this.putAll(byGroup, groupId, commits, written.baseOffset);
      return ErrorCode.NONE;
    } finally {
      for (const k of keys) {
        const n = this.txnWrites.get(k)! - 1;
        if (n === 0) this.txnWrites.delete(k);
        else this.txnWrites.set(k, n);
      }
    }
  }

  /** The producer's marker landed on this partition: its pending offsets become visible (COMMIT) or are dropped. */
  completeTransaction(producerId: number, committed: boolean): void {
    const byGroup = this.pendingTxnOffsets.get(producerId);
    if (!byGroup) return;
    this.pendingTxnOffsets.delete(producerId);
    if (!committed) return;
    applyTxnOffsets(this.offsets, byGroup);
    for (const groupId of byGroup.keys()) this.getOrCreateGroup(groupId);
  }

  /** Whether a transaction holds an offset for the partition not yet committed or aborted (KIP-447's requireStable). */
  hasPendingTxnOffset(groupId: string, topic: string, partition: number): boolean {
    const tp = topicPartitionKey(topic, partition);
    if (this.txnWrites.has(`${groupId}\u0000${tp}`)) return true;
    for (const byGroup of this.pendingTxnOffsets.values()) if (byGroup.get(groupId)?.has(tp)) return true;
    return false;
  }

  private putAll(into: GroupOffsets, groupId: string, commits: OffsetCommitEntry[], appendedAt: number): void {
    for (const c of commits) putOffset(into, groupId, topicPartitionKey(c.topic, c.partition), { ...c.value, appendedAt });
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
    this.pendingTxnOffsets.clear();
  }
}

function offsetRecords(groupId: string, commits: OffsetCommitEntry[]): RecordInput[] {
  return commits.map((c) => ({ key: offsetKey(groupId, c.topic, c.partition), value: encodeOffset(c.value) }));
}
