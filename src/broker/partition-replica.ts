// One partition replica on this broker: its log, its state machine actor, and the plain objects of the data
// path that must not become actor events — the fetchers waiting for new data and the acks=all producers
// waiting for the high watermark.
//
// The actor (machines/partition-replica.ts) decides the role from the leader epoch; this object answers the
// byte-level questions (append, read) using the role the actor is in. High watermark = the smallest log end
// offset among the in-sync replicas (Kafka's definition); with a single in-sync replica it is the log end
// offset after each append.
//
// Replication (DESIGN.md "Data plane"): as leader it answers follower fetches (serveReplicaFetch), learning
// each follower's log end offset and proposing ISR changes (src/replication/leader-replication.ts); as
// follower it is registered with the broker's replica fetcher for its leader, which hands each response to
// applyReplicaFetch. Follower appends and truncations run one at a time on a chain of their own, and only
// while the replica still follows the epoch the fetch was made for.
import type { LogDirCheckpoints } from '../log/log-dir-checkpoints.ts';
import { createActor, fromPromise, type Actor, type ActorSystem } from 'xstate';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import { join } from 'node:path';
import { partitionReplicaMachine, type Assignment } from '../../machines/partition-replica.ts';
import { PartitionLog, type LogConfig } from '../log/partition-log.ts';
import { resolveLogConfig } from '../log/log-config.ts';
import type { Storage } from '../log/storage.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { KafkaError } from './kafka-error.ts';
import type { Logger } from '../util/logger.ts';
import type { Slots } from '../util/slots.ts';
import { LeaderReplication, type FollowerState } from '../replication/leader-replication.ts';
import { applyFetchedPartition, type ApplyOutcome } from '../replication/follower-apply.ts';
import type { ReplicaFetchPartition, ReplicaFetchPartitionResponse } from '../replication/replication-codec.ts';
import type { LeaderNews } from '../replication/replication-server.ts';
import type { ProposeIsr } from '../replication/isr-proposal.ts';
import { readBatchHeader, setLogAppendTime, TRANSACTIONAL_FLAG } from '../protocol/record-batch-layout.ts';
import { buildTxnMarkerBatch, type TxnMarker } from '../log/txn-marker.ts';
import type { AbortedTxn } from '../log/txn-index.ts';
import { PartitionProducers, type ProducerSnapshot } from '../producer-state/partition-producers.ts';
import { readPartitionTopicId, writePartitionTopicId } from '../log/partition-metadata.ts';
import { DeleteRecordsWaiters } from '../replication/delete-records-waiters.ts';
import { AckWaiters } from './ack-waiters.ts';
import { checkProducedBatch, checkTxnVerified, type ProduceOptions } from './produce-checks.ts';
import { LogFailedError, OffsetOutOfRangeError } from '../log/errors.ts';

/** The broker's replication machinery as a replica sees it (src/replication/replication-service.ts). */

export type { ProduceOptions } from './produce-checks.ts';

export interface ReplicaReplication {
  /** This replica now follows `leaderId` in `leaderEpoch`: fetch for it. */
  follow(replica: PartitionReplica, leaderId: number, leaderEpoch: number): void;
  unfollow(replica: PartitionReplica): void;
  /** News from a partition this broker leads, for the followers' held fetches (ReplicationServer.news). */
  leaderNews?(replicas: readonly number[], kind: LeaderNews): void;
  proposeIsr?: ProposeIsr;
  /** replica.lag.time.max.ms */
  replicaLagTimeMaxMs: number;
  /** The largest batch replication can carry (a leader refuses larger ones with MESSAGE_TOO_LARGE). */
  readonly maxBatchBytes?: number;
}

/** The settings of a replica that follow its topic's configs (and change with them at runtime). */
export type ReplicaSettings = Pick<PartitionReplicaOptions, 'logConfig' | 'maxMessageBytes' | 'minInsyncReplicas' | 'logAppendTime'>;

export interface PartitionReplicaOptions {
  topic: string;
  topicId: string;
  partition: number;
  brokerId: number;
  assignment: Assignment;
  dataDir: string;
  storage: Storage;
  logConfig: Partial<LogConfig>;
  maxMessageBytes: number;
  minInsyncReplicas: number;
  /** message.timestamp.type=LogAppendTime: the leader stamps each appended batch with its clock's time. */
  logAppendTime?: boolean;
  clock: Clock;
  logger: Logger;
  replication?: ReplicaReplication;
  /** Called once this replica leads, after the transition committed (the group coordinator loads its shard). */
  onLeading?: (replica: PartitionReplica) => void;
  /** Called when this replica goes offline (its log failed): the broker asks the controller to move leadership away. */
  onOffline?: (replica: PartitionReplica) => void;
  /** Log opens (recovery) this broker runs at once, shared by its replicas (Kafka's num.recovery.threads). */
  logOpens?: Slots;
  /** The data directory's offset checkpoints (Kafka's per-log-directory files); absent: each log keeps its own. */
  dirCheckpoints?: LogDirCheckpoints;
}

export type ReplicaRole = 'recovering' | 'leader' | 'follower' | 'offline' | 'stopped';

export class PartitionReplica {
  readonly dir: string;
  /** The partition directory's name in the data directory (its line in the directory checkpoints). */
  private readonly dirName: string;
  log: PartitionLog | null = null;
  readonly actor: Actor<typeof partitionReplicaMachine>;
  private readonly dataWaiters = new Set<() => void>();
  private readonly ackWaiters: AckWaiters;
  /** A pending HIGH_WATERMARK report to the actor (reportHighWatermark). */
  private hwReport: TimerHandle | null = null;
  /** Leader-side follower state for the current epoch; null unless leading. */
  private leading: LeaderReplication | null = null;
  /** The snapshot `role` was last worked out from, and that role. */
  private roleSnapshot: unknown = null;
  private cachedRole: ReplicaRole = 'recovering';
  /** Follower appends and truncations, one at a time. */
  private followerChain: Promise<unknown> = Promise.resolve();
  private opening: Promise<PartitionLog> | null = null;
  /** The idempotent producers' state (KIP-98), kept on leader and followers alike; rebuilt on open. */
  readonly producers = new PartitionProducers();
  /** DeleteRecords requests waiting for the ISR's log start (Kafka's DelayedDeleteRecords). */
  private readonly deleteWaiters: DeleteRecordsWaiters;

  constructor(readonly opts: PartitionReplicaOptions) {
    this.dirName = `${opts.topic}-${opts.partition}`;
    this.dir = join(opts.dataDir, this.dirName);
    this.ackWaiters = new AckWaiters(opts.clock);
    this.actor = createActor(PartitionReplica.machine, {
      systemId: `partition-${opts.topic}-${opts.partition}@broker-${opts.brokerId}`,
      input: { topic: opts.topic, partition: opts.partition, brokerId: opts.brokerId, assignment: opts.assignment },
    });
    // Each replica is a root actor, with an actor system of its own: the effects find their replica by it.
    replicaOfSystem.set(this.actor.system, this);
    this.deleteWaiters = new DeleteRecordsWaiters(opts.clock, () => this.leading?.lowWatermark() ?? -1);
  }

  /**
   * The replica machine with its effects, made once for every replica: `provide` builds a whole machine (a
   * tree of state nodes), and one per replica was 30,000 state nodes and ~20 MB of heap at 3,000 partitions.
   */
  private static readonly machine = partitionReplicaMachine.provide({
    actors: {
      recoverLog: fromPromise(async ({ system }) => {
        const r = replicaOf(system);
        const log = await r.openLog();
        await r.producers.exclusive(() => r.producers.rebuild(log));
        return { logEndOffset: log.logEndOffset, highWatermark: log.highWatermark };
      }),
      closeLog: fromPromise(async ({ system }) => replicaOf(system).closeLog(false)),
      deleteLog: fromPromise(async ({ system }) => replicaOf(system).closeLog(true)),
    },
    actions: {
      startLeading: ({ context, system }) => replicaOf(system).onLeading(context.leaderEpoch, context.replicas),
      stopLeading: ({ system }) => replicaOf(system).onStopLeading(),
      startFollowing: ({ context, system }) => {
        const r = replicaOf(system);
        r.opts.replication?.follow(r, context.leader, context.leaderEpoch);
      },
      stopFollowing: ({ system }) => {
        const r = replicaOf(system);
        r.opts.replication?.unfollow(r);
      },
      reportFailure: ({ system }, params) => {
        const { opts } = replicaOf(system);
        const what = params.when === 'recovery' ? 'its log could not be recovered' : 'its log failed on I/O; a restart recovers it';
        opts.logger.error(`partition replica offline: ${what}`, { topic: opts.topic, partition: opts.partition, error: params.error });
      },
      reportOffline: ({ system }) => {
        const r = replicaOf(system);
        r.opts.onOffline?.(r);
      },
    },
  });

  get topic(): string {
    return this.opts.topic;
  }
  get partition(): number {
    return this.opts.partition;
  }

  /**
   * A topic config changed at runtime (AlterConfigs, or a broker-level default; Kafka's
   * LogManager.updateTopicConfig): later produces, appends, rolls and retention passes use the new settings.
   * The log reads its config at each roll and retention pass, so its settings are replaced in place.
   */
  reconfigure(settings: ReplicaSettings): void {
    Object.assign(this.opts, settings);
    if (this.log) Object.assign(this.log.config, resolveLogConfig({ ...this.log.config, ...settings.logConfig }));
  }

  start(): void {
    this.actor.start();
  }

  /**
   * The replica's role, worked out once per snapshot: `matches` allocates, and replica fetches ask every
   * partition's role each round.
   */
  get role(): ReplicaRole {
    const s = this.actor.getSnapshot();
    if (s !== this.roleSnapshot) {
      this.roleSnapshot = s;
      this.cachedRole = roleOf(s);
    }
    return this.cachedRole;
  }

  get leaderEpoch(): number {
    return this.actor.getSnapshot().context.leaderEpoch;
  }

  get isr(): number[] {
    return this.actor.getSnapshot().context.isr;
  }

  get replicas(): number[] {
    return this.actor.getSnapshot().context.replicas;
  }

  get leaderId(): number {
    return this.actor.getSnapshot().context.leader;
  }

  get topicId(): string {
    return this.opts.topicId;
  }

  assign(a: Assignment): void {
    this.actor.send({ type: 'ASSIGNMENT', ...a });
    if (this.leading) {
      // A committed ISR change (ours or the controller's) may settle a proposal and move the HW.
      this.leading.onIsrChanged(this.isr);
      this.advanceHighWatermark();
      this.deleteWaiters.check();
    }
  }

  /**
   * Tells the actor the log's high watermark and end, at most every HIGH_WATERMARK_REPORT_MS (the last values
   * win). The actor's context holds them for inspection and the dashboard only: the data path reads the log.
   * Under load the high watermark moves on every fetch round of every partition, and an XState event each
   * time was 2.4% of a loaded broker's CPU.
   */
  private reportHighWatermark(): void {
    if (this.hwReport !== null) return;
    this.hwReport = this.opts.clock.setTimeout(() => {
      this.hwReport = null;
      const log = this.log;
      if (log && this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'HIGH_WATERMARK', highWatermark: log.highWatermark, logEndOffset: log.logEndOffset });
    }, HIGH_WATERMARK_REPORT_MS);
  }

  /** Resolves when the actor has reached a final state (the log is closed or deleted). */
  async stop(deleteData: boolean): Promise<void> {
    if (this.hwReport !== null) this.opts.clock.clearTimeout(this.hwReport);
    this.hwReport = null;
    this.actor.send({ type: deleteData ? 'DELETE' : 'STOP' });
    await new Promise<void>((resolve) => {
      if (this.actor.getSnapshot().status === 'done') return resolve();
      const sub = this.actor.subscribe({
        complete: () => {
          sub.unsubscribe();
          resolve();
        },
        error: () => resolve(),
      });
    });
  }

  private async openLog(): Promise<PartitionLog> {
    this.opening ??= this.opts.logOpens ? this.opts.logOpens.run(() => this.recoverLog()) : this.recoverLog();
    return this.opening;
  }

  private async recoverLog(): Promise<PartitionLog> {
    const { storage, topicId } = this.opts;
    // A log left by an earlier topic of this name (deleted while this broker did not see it) is not this one's.
    const written = await readPartitionTopicId(storage, this.dir);
    if (written !== null && written !== topicId) {
      this.opts.logger.warn('deleting the log of an earlier topic with this name (deleted and created again while this broker did not see it)', {
        topic: this.topic, partition: this.partition, topicId, previousTopicId: written,
      });
      await this.opts.dirCheckpoints?.forget(this.dirName);
      await storage.removeDir(this.dir);
    }
    // A directory from before partition.metadata existed is adopted as this topic's.
    if (written !== topicId) {
      await storage.mkdir(this.dir);
      await writePartitionTopicId(storage, this.dir, topicId);
    }
    const log = await PartitionLog.open({
      dir: this.dir,
      storage,
      config: this.opts.logConfig,
      clock: this.opts.clock,
      ...(this.opts.dirCheckpoints ? { dirCheckpoints: { files: this.opts.dirCheckpoints, name: this.dirName, topicId } } : {}),
      onWarning: (msg, facts) => this.opts.logger.warn(msg, { topic: this.topic, partition: this.partition, ...facts }),
      // Called inside the log's failing operation: the actor hears of it once that operation has thrown.
      onFailure: (cause) =>
        queueMicrotask(() => {
          if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'LOG_FAILED', error: String((cause as Error)?.message ?? cause) });
        }),
    });
    this.log = log;
    return log;
  }

  private async closeLog(deleteData: boolean): Promise<void> {
    this.ackWaiters.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'replica stopped');
    this.deleteWaiters.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'replica stopped');
    wakeAll(this.dataWaiters);
    this.leaderNews('data');
    await this.followerChain;
    const log = this.opening ? await this.opening.catch(() => null) : null;
    this.log = null;
    if (!log) return;
    if (deleteData) return log.delete();
    // A clean shutdown leaves a snapshot at the log end: the next open reads no batch to rebuild the producer state.
    try {
      const snapshot = await this.producers.exclusive(() => this.producers.capture(log));
      await log.flush();
      await log.writeProducerSnapshot(snapshot.offset, snapshot.lines, snapshot.truncationCount);
    } catch (err) {
      if (!(err instanceof LogFailedError)) this.opts.logger.warn('writing the producer snapshot on close failed; the next open reads the log instead', { topic: this.topic, partition: this.partition, error: err as Error });
    }
    await log.close();
  }

  // Entry actions run before the actor's snapshot is updated: use the context given, not this.role / this.isr.
  private onLeading(epoch: number, replicas: number[]): void {
    const log = this.log;
    if (!log) return;
    // Kafka's leader-epoch cache: this epoch's records start at the log end offset once the writes already
    // queued are in (a follower append still in flight when leadership came would otherwise land after the
    // epoch's start with its old epoch: beginEpoch takes its turn on the log's write chain). Persisted there:
    // the append path only persists epochs it adds itself, and a restart must not re-date this one.
    log.beginEpoch(epoch).catch((err: unknown) => this.opts.logger.error('persisting the leader epoch failed', { topic: this.topic, partition: this.partition, error: err as Error }));
    // Until beginEpoch has run, the log end (at or past the epoch's start: a follower is let in a little later).
    const start = () => log.epochs.entries().find((e) => e.epoch === epoch)?.startOffset ?? log.logEndOffset;
    this.leading?.close();
    this.leading = new LeaderReplication({
      topic: this.topic,
      partition: this.partition,
      brokerId: this.opts.brokerId,
      leaderEpoch: epoch,
      epochStartOffset: start,
      log,
      replicas: () => this.replicas,
      initialReplicas: replicas,
      isr: () => this.isr,
      clock: this.opts.clock,
      logger: this.opts.logger,
      proposeIsr: this.opts.replication?.proposeIsr,
      replicaLagTimeMaxMs: this.opts.replication?.replicaLagTimeMaxMs ?? 10_000,
      onChange: () => this.advanceHighWatermark(),
    });
    // After the transition has committed (this.isr is the new epoch's ISR by then, and role 'leader').
    // Followers whose requests were held with this partition not led here yet (ReplicationServer) ask again now.
    queueMicrotask(() => {
      this.advanceHighWatermark();
      this.leaderNews('leading');
      this.opts.onLeading?.(this);
    });
  }

  private onStopLeading(): void {
    this.leading?.close();
    this.leading = null;
    this.ackWaiters.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved');
    this.deleteWaiters.failAll(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved');
    this.leaderNews('data');
  }

  /**
   * DeleteRecords on the leader (Kafka's Partition.deleteRecordsOnLeader and DelayedDeleteRecords): moves the
   * log start to `offset` (-1: the high watermark), never past the high watermark (OFFSET_OUT_OF_RANGE), then
   * waits at most `timeoutMs` for the in-sync followers to move theirs (they learn it from their next fetch
   * answer). Resolves with the low watermark.
   */
  async deleteRecords(offset: number, timeoutMs: number): Promise<number> {
    const log = this.leaderLog();
    const target = offset === -1 ? log.highWatermark : offset;
    if (target < 0) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is not an offset or -1 (the high watermark)`, { topic: this.topic, partition: this.partition });
    try {
      await log.advanceLogStartOffset(target);
    } catch (err) {
      if (!(err instanceof OffsetOutOfRangeError)) throw err;
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${target} is past the high watermark ${log.highWatermark} of ${this.topic}-${this.partition}`, { topic: this.topic, partition: this.partition, offset: target });
    }
    if (this.role !== 'leader' || !this.leading) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `leadership of ${this.topic}-${this.partition} moved during the deletion`);
    // The followers' held fetches answer now, carrying the new log start.
    this.leaderNews('data');
    return this.deleteWaiters.wait(target, timeoutMs);
  }

  /** Follower state as the leader sees it (metrics, dashboard, tests); empty unless leading. */
  followerStates(): Map<number, FollowerState> {
    return new Map(this.leading?.followers ?? []);
  }

  /** The ISR proposal in flight, if any (tests, dashboard). */
  get pendingIsr(): number[] | null {
    return this.leading?.pendingIsr ?? null;
  }

  /** Kafka's isr-expiration check; the replication service runs it every replica.lag.time.max.ms / 2. */
  maybeShrinkIsr(): void {
    if (this.leading && this.role === 'leader') this.leading.maybeShrink();
  }

  /** The log, when this replica leads; else the Kafka error that sends the client to look for the leader. */
  leaderLog(): PartitionLog {
    if (this.role === 'offline') throw this.offlineError();
    if (this.role !== 'leader' || !this.log) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.opts.brokerId} is not the leader of ${this.topic}-${this.partition}`, {
        topic: this.topic,
        partition: this.partition,
      });
    }
    return this.log;
  }

  /** What an offline replica answers (Kafka's KafkaStorageException): retriable, the client looks for the new leader. */
  private offlineError(): KafkaError {
    const error = this.actor.getSnapshot().context.error;
    return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `the log of ${this.topic}-${this.partition} on broker ${this.opts.brokerId} is offline: ${error ?? 'I/O failure'}`, {
      topic: this.topic,
      partition: this.partition,
    });
  }

  /**
   * Validates and appends a produced records buffer as the leader. Resolves per acks: after the append
   * (0, 1) or once the high watermark passed the batch (-1). A control batch is always refused (only
   * appendTxnMarker writes markers), as Kafka's LogValidator refuses them from clients (INVALID_RECORD). A
   * client's transactional batch is refused with INVALID_TXN_STATE unless the producer's transaction is already
   * open on this partition or the caller verified it with the transaction coordinator (KIP-890 part 1:
   * `verified`, the producer's marker count taken before asking, so a marker written meanwhile voids it). A
   * coordinator's own write (`origin: 'coordinator'`: TxnOffsetCommit's offsets) skips the sequence checks, as
   * Kafka's AppendOrigin.COORDINATOR does.
   */
  async produce(records: Buffer, acks: number, timeoutMs: number, opts: ProduceOptions = {}): Promise<{ baseOffset: number; logStartOffset: number; logAppendTime: number }> {
    const log = this.leaderLog();
    let header = checkProducedBatch(records, { topic: this.topic, partition: this.partition, maxMessageBytes: this.opts.maxMessageBytes, replicableBytes: this.opts.replication?.maxBatchBytes });
    if (acks === -1 && this.isr.length < this.opts.minInsyncReplicas) {
      throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, `ISR ${this.isr.length} is below min.insync.replicas ${this.opts.minInsyncReplicas}`);
    }
    // LogAppendTime topics: the broker's time replaces the producer's (Kafka's LogValidator); -1 otherwise, as
    // Kafka answers logAppendTimeMs for CreateTime topics and for a duplicate of an idempotent batch.
    let logAppendTime = -1;
    if (this.opts.logAppendTime) {
      logAppendTime = this.opts.clock.wall();
      setLogAppendTime(records, 0, logAppendTime);
      header = readBatchHeader(records, 0);
    }
    const epoch = this.leaderEpoch;
    // Idempotent batches (producerId >= 0): check and append as one step per partition, so a retry can
    // never slip between a batch's check and its append; a duplicate is answered with its original offsets.
    const { baseOffset, lastOffset } =
      header.producerId < 0
        ? await log.append(records, epoch)
        : await this.producers.exclusive(async () => {
            const verdict = this.producers.table.check(header, opts.origin ?? 'client');
            if (verdict.kind === 'append' && (header.attributes & TRANSACTIONAL_FLAG) !== 0) checkTxnVerified(this.producers.table, header.producerId, opts, this.topic, this.partition);
            if (verdict.kind === 'error') {
              throw new KafkaError(verdict.errorCode, verdict.message, { topic: this.topic, partition: this.partition, producerId: header.producerId });
            }
            if (verdict.kind === 'duplicate') {
              logAppendTime = -1;
              return { baseOffset: verdict.firstOffset, lastOffset: verdict.lastOffset };
            }
            const r = await log.append(records, epoch);
            // Applied even if leadership moved meanwhile: the batch is in the log, and a truncation that
            // removes it rebuilds the state after this section (applyReplicaFetch).
            this.producers.table.apply(header, r.baseOffset);
            return r;
          });
    await this.acknowledge(epoch, lastOffset, acks, timeoutMs);
    return { baseOffset, logStartOffset: log.logStartOffset, logAppendTime };
  }

  /** The producer's marker count on this partition, taken before asking the coordinator to verify (KIP-890). */
  verificationGuard(producerId: number): number {
    return this.producers.table.markerCount(producerId);
  }

  /** After a leader append of epoch `epoch` ending at lastOffset: replication news, and the wait acks asks for. */
  private async acknowledge(epoch: number, lastOffset: number, acks: number, timeoutMs: number): Promise<void> {
    if (this.role !== 'leader' || this.leaderEpoch !== epoch) {
      // Leadership moved while the append waited its turn: the write is not acknowledged (acks=1 included);
      // the new leader's history decides whether it survives, and the next replica fetch truncates it if not.
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `leadership of ${this.topic}-${this.partition} moved during the append`, { topic: this.topic, partition: this.partition });
    }
    this.leaderNews('data');
    this.advanceHighWatermark();
    if (acks === -1 && this.leaderLog().highWatermark <= lastOffset) await this.waitForHighWatermark(lastOffset, timeoutMs);
  }

  /**
   * Appends a COMMIT or ABORT marker for the producer as the leader (the partition's part of Kafka's
   * WriteTxnMarkers), through the normal replicated append; resolves with its offset once the high watermark
   * passed it (acks=all). Fenced as Kafka's appendEndTxnMarker: an older producer epoch (INVALID_PRODUCER_EPOCH)
   * or coordinator epoch (TRANSACTION_COORDINATOR_FENCED).
   */
  async appendTxnMarker(producerId: number, producerEpoch: number, marker: TxnMarker, timeoutMs: number): Promise<number> {
    const log = this.leaderLog();
    if (this.isr.length < this.opts.minInsyncReplicas) {
      throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, `ISR ${this.isr.length} is below min.insync.replicas ${this.opts.minInsyncReplicas}`);
    }
    const records = buildTxnMarkerBatch(producerId, producerEpoch, marker, this.opts.clock.wall());
    const epoch = this.leaderEpoch;
    const offset = await this.producers.exclusive(async () => {
      const verdict = this.producers.table.checkMarker(producerId, producerEpoch, marker.coordinatorEpoch);
      if (verdict.kind === 'error') throw new KafkaError(verdict.errorCode, verdict.message, { topic: this.topic, partition: this.partition, producerId });
      const r = await log.append(records, epoch);
      this.producers.table.apply(readBatchHeader(records, 0), r.baseOffset, marker);
      return r.baseOffset;
    });
    await this.acknowledge(epoch, offset, -1, timeoutMs);
    return offset;
  }

  /**
   * The last stable offset of this replica's log (KIP-98): below the first offset of the earliest transaction not
   * yet decided below the high watermark, else the high watermark; never below the log start.
   */
  lastStableOffset(log: PartitionLog): number {
    return Math.max(log.logStartOffset, this.producers.table.lastStableOffset(log.highWatermark));
  }

  private waitForHighWatermark(offset: number, timeoutMs: number): Promise<void> {
    // The ISR shrank below min.insync.replicas during the append: the high watermark waits for it to grow back.
    if (this.isr.length < this.opts.minInsyncReplicas) {
      return Promise.reject(new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, `ISR ${this.isr.length} fell below min.insync.replicas ${this.opts.minInsyncReplicas} after the append`));
    }
    return this.ackWaiters.wait(offset, timeoutMs);
  }

  /**
   * Recomputes the leader's high watermark over the maximal ISR's log end offsets; wakes consumer fetches
   * and acks=all producers. Followers take theirs from the leader (applyReplicaFetch).
   *
   * The high watermark stays where it is while the ISR is smaller than min.insync.replicas (KIP-966, Kafka 4):
   * records that only a too-small ISR holds are not committed, so no consumer reads what one more failure could
   * take back (acks=1 records included, which min.insync.replicas alone never protected). acks=all requests
   * waiting then are refused with NOT_ENOUGH_REPLICAS_AFTER_APPEND, as Kafka's DelayedProduce answers.
   */
  advanceHighWatermark(): void {
    const log = this.log;
    const leading = this.leading;
    if (!log || !leading) return;
    if (this.isr.length < this.opts.minInsyncReplicas) {
      if (this.ackWaiters.size > 0) this.ackWaiters.failAll(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, `ISR ${this.isr.length} fell below min.insync.replicas ${this.opts.minInsyncReplicas} after the append`);
      return;
    }
    const hw = leading.highWatermarkCandidate();
    if (hw > log.highWatermark) {
      log.setHighWatermark(hw);
      this.reportHighWatermark();
      this.ackWaiters.release(hw);
      wakeAll(this.dataWaiters);
      this.leaderNews('highWatermark');
    }
  }

  /**
   * Leader side of one partition of a replica fetch. With `record`, the fetch counts as the follower's
   * position report (the first pass of a request); a long-poll's second pass tells only that the follower was
   * held until now (recordHeld). Kafka errors are returned as data; divergence (KIP-595) returns the epoch end
   * and no records. Null when there is nothing new for the follower: synchronous and allocation-free, which is
   * most of an idle round.
   */
  serveReplicaFetch(replicaId: number, incarnation: string, p: ReplicaFetchPartition, maxBytes: number, record: boolean, minOneBatch = true): ReplicaFetchPartitionResponse | null | Promise<ReplicaFetchPartitionResponse> {
    const log = this.log;
    const leading = this.leading;
    if (this.role !== 'leader' || !log || !leading) return this.fetchAnswer(this.role === 'offline' ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (p.topicId !== this.opts.topicId) return this.fetchAnswer(ErrorCode.UNKNOWN_TOPIC_ID);
    // KIP-320 fencing, both ways: an older epoch is a stale follower, a newer one a leader not told yet.
    if (p.currentLeaderEpoch < this.leaderEpoch) return this.fetchAnswer(ErrorCode.FENCED_LEADER_EPOCH);
    if (p.currentLeaderEpoch > this.leaderEpoch) return this.fetchAnswer(ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (!this.replicas.includes(replicaId) || replicaId === this.opts.brokerId) return this.fetchAnswer(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // A follower in the leader's latest epoch, not past its end, has not diverged (the usual case: no lookup).
    const inLatestEpoch = p.lastFetchedEpoch === log.epochs.latestEpoch() && p.fetchOffset <= log.logEndOffset;
    if (p.lastFetchedEpoch >= 0 && !inLatestEpoch) {
      const end = log.epochs.endOffsetFor(p.lastFetchedEpoch);
      if (end.epoch < p.lastFetchedEpoch || end.endOffset < p.fetchOffset) {
        return { ...this.fetchAnswer(ErrorCode.NONE), divergingEpoch: { epoch: end.epoch, endOffset: end.endOffset } };
      }
    }
    // Past the end without an epoch to compare (a follower that lost its epoch checkpoint): it must cut back.
    if (p.fetchOffset > log.logEndOffset) return { ...this.fetchAnswer(ErrorCode.NONE), divergingEpoch: { epoch: -1, endOffset: log.logEndOffset } };
    if (p.fetchOffset < log.logStartOffset) return this.fetchAnswer(ErrorCode.OFFSET_OUT_OF_RANGE);
    if (record) {
      leading.recordFetch(replicaId, incarnation, p.fetchOffset, p.logStartOffset);
      this.advanceHighWatermark();
      this.deleteWaiters.check();
    } else leading.recordHeld(replicaId, p.fetchOffset);
    if (p.fetchOffset === log.logEndOffset || maxBytes <= 0) {
      return log.highWatermark > p.highWatermark || log.logStartOffset > p.logStartOffset ? this.fetchAnswer(ErrorCode.NONE) : null;
    }
    return log.read(p.fetchOffset, maxBytes, undefined, minOneBatch).then((r) => ({ ...this.fetchAnswer(ErrorCode.NONE), records: r.data }));
  }

  /** A fetch held with nothing new (ReplicationServer): the follower stayed caught up until now, as recordHeld after a full pass. */
  heldUntilNow(replicaId: number, p: ReplicaFetchPartition): void {
    const leading = this.leading;
    if (!leading || this.role !== 'leader' || p.topicId !== this.opts.topicId || p.currentLeaderEpoch !== this.leaderEpoch) return;
    leading.recordHeld(replicaId, p.fetchOffset);
  }

  /**
   * The producer state as a snapshot of `log` at its end (PartitionProducers.capture), for the broker's periodic
   * checkpoint to write once the log is synced that far; null when the replica no longer holds that log, or when
   * the snapshot on disk is at its end already (a write would be skipped). Taken
   * after any follower apply in flight (its append and its producer-state update are one step of followerChain)
   * and inside the producer lock (a leader's check, append and update of a producer's or a control batch are one
   * step there), so every such batch in the log has been applied. Producers idle for `expiry.ms` by `expiry.now`
   * (producer.id.expiration.ms) are forgotten first.
   */
  captureProducerState(log: PartitionLog, expiry?: { now: number; ms: number }): Promise<ProducerSnapshot | null> {
    return this.followerChain.then(() =>
      this.producers.exclusive(() => {
        if (this.log !== log) return null;
        if (expiry) this.producers.table.expireProducers(expiry.now, expiry.ms);
        // The snapshot on disk is at the log end already (only the high watermark or the log start moved): the write
        // would be skipped, so the state is not encoded for it.
        if (log.producerSnapshot.offset === log.logEndOffset) return null;
        return this.producers.capture(log);
      }),
    );
  }

  /** A replica fetch answer for this partition as it stands, without records. */
  private fetchAnswer(errorCode: number): ReplicaFetchPartitionResponse {
    const log = this.log;
    return {
      topic: this.topic, partition: this.partition, errorCode,
      highWatermark: log?.highWatermark ?? -1, logStartOffset: log?.logStartOffset ?? -1,
      leaderEpoch: this.leading ? this.leaderEpoch : -1, records: EMPTY,
    };
  }

  /** Tells the replication server about news here, for the followers' held fetches. */
  private leaderNews(kind: LeaderNews): void {
    this.opts.replication?.leaderNews?.(this.replicas, kind);
  }

  /** What a follower fetch for this replica asks: from its log end, with its latest epoch; null if no log. */
  followerFetchPosition(): { fetchOffset: number; lastFetchedEpoch: number; highWatermark: number; logStartOffset: number } | null {
    const log = this.log;
    if (!log) return null;
    return { fetchOffset: log.logEndOffset, lastFetchedEpoch: log.epochs.latestEpoch(), highWatermark: log.highWatermark, logStartOffset: log.logStartOffset };
  }

  /**
   * Follower side: applies one partition of a response fetched from `leaderId` for `leaderEpoch` at
   * `fetchOffset`. Ignored ('stale') unless this replica still follows exactly that leader and epoch when its
   * turn comes, and its log still ends where the fetch started: a leader-path append that landed after the
   * fetch was sent (a thawed zombie answering a request queued while it was frozen) would otherwise make the
   * response look like data already held. As Kafka's fetcher does on an offset mismatch, the response is
   * dropped and the next fetch, carrying the new end and epoch, lets the leader find the divergence.
   */
  applyReplicaFetch(leaderId: number, leaderEpoch: number, res: ReplicaFetchPartitionResponse, fetchOffset: number): Promise<ApplyOutcome | 'stale'> {
    const run = this.followerChain.then(async () => {
      const log = this.log;
      if (!log || this.role !== 'follower' || this.leaderEpoch !== leaderEpoch || this.leaderId !== leaderId) return 'stale' as const;
      if (log.logEndOffset !== fetchOffset) return 'stale' as const;
      // A leader answering from an older epoch than the one followed is not to be believed.
      if (res.leaderEpoch < leaderEpoch) return 'stale' as const;
      const before = log.highWatermark;
      const end = log.logEndOffset;
      const outcome = await applyFetchedPartition(log, res);
      await this.producers.exclusive(async () => {
        if ((outcome.kind === 'truncated' && outcome.to < end) || outcome.kind === 'reset') await this.producers.rebuild(log);
        else if (outcome.kind === 'appended') this.producers.applyBatches(res.records, fetchOffset);
      });
      if (outcome.kind === 'truncated' && outcome.to < end) {
        this.opts.logger.info('follower truncated its log to the leader\'s epoch history', { topic: this.topic, partition: this.partition, leader: leaderId, leaderEpoch, from: end, to: outcome.to, divergingEpoch: res.divergingEpoch?.epoch });
      }
      if (outcome.kind === 'reset') {
        this.opts.logger.warn('follower log ended before the leader\'s log start (deleted by retention); it starts over there', { topic: this.topic, partition: this.partition, leader: leaderId, leaderEpoch, from: end, to: outcome.to });
      }
      if (log.highWatermark !== before) {
        this.reportHighWatermark();
        // Consumers reading from this follower (KIP-392) wait for its high watermark.
        wakeAll(this.dataWaiters);
      }
      return outcome;
    });
    this.followerChain = run.catch(() => {});
    return run;
  }

  /**
   * Reads whole batches for a consumer: only below the high watermark, from the leader, or with `fromFollower`
   * (KIP-392: a consumer's Fetch v11+) from a follower too, below the follower's own high watermark; an offset
   * past its log end is out of range there, and the client goes back to the leader (Kafka's Partition.readRecords).
   */
  fetch(offset: number, maxBytes: number, fromFollower = false, readCommitted = false, minOneBatch = true): ConsumerRead | Promise<ConsumerRead> {
    const log = fromFollower && this.role === 'follower' && this.log ? this.log : this.leaderLog();
    const highWatermark = log.highWatermark;
    const lastStableOffset = this.lastStableOffset(log);
    // read_committed reads below the last stable offset only, as Kafka bounds the fetch by it.
    const upper = readCommitted ? lastStableOffset : highWatermark;
    const answer = { highWatermark, lastStableOffset, logStartOffset: log.logStartOffset };
    // Out of range means outside the log, as Kafka checks it: a new leader's high watermark may still be below
    // what its predecessor had exposed (it learns the ISR's progress from their next fetches), and a consumer
    // already there must get an empty answer, not a reset of its position.
    if (offset < log.logStartOffset || offset > log.logEndOffset) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${log.logStartOffset}, ${log.logEndOffset}]`, {
        topic: this.topic,
        partition: this.partition,
        offset,
      });
    }
    // Nothing to read (a consumer caught up, most partitions of a wide one): answered without a promise.
    if (offset >= upper) return { data: EMPTY, ...answer, abortedTransactions: [] };
    return log.read(offset, maxBytes, upper, minOneBatch).then((r) => {
      // The aborted transactions with records among those returned, for the consumer to drop (Kafka's fetch of
      // read_committed collects them from the .txnindex for [fetch offset, end of the data)).
      const abortedTransactions = readCommitted && r.data.length > 0 ? this.producers.table.aborted.overlapping(offset, r.nextOffset) : [];
      return { data: r.data, ...answer, abortedTransactions };
    });
  }

  /** Calls `fn` once when new data may be readable (high watermark moved) or the replica stops. */
  onceData(fn: () => void): () => void {
    this.dataWaiters.add(fn);
    return () => this.dataWaiters.delete(fn);
  }
}

const EMPTY = Buffer.alloc(0);

/** A consumer's read: the records and the offsets the Fetch answer carries. */
export interface ConsumerRead {
  data: Buffer;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  /** read_committed: the aborted transactions overlapping the records returned; [] otherwise. */
  abortedTransactions: readonly AbortedTxn[];
}
/** How often at most a replica reports its high watermark to its actor. */
const HIGH_WATERMARK_REPORT_MS = 100;

// Only used as a map key: the replica machine's system type is not worth spelling out.
type AnyActorSystem = ActorSystem<any>;

const replicaOfSystem = new WeakMap<AnyActorSystem, PartitionReplica>();

function replicaOf(system: AnyActorSystem): PartitionReplica {
  const r = replicaOfSystem.get(system);
  if (!r) throw new Error('a partition replica effect ran outside a replica actor');
  return r;
}

function roleOf(s: { matches(state: 'leader' | 'follower' | 'recovering' | 'deciding' | 'offline'): boolean }): ReplicaRole {
  if (s.matches('leader')) return 'leader';
  if (s.matches('follower')) return 'follower';
  if (s.matches('recovering') || s.matches('deciding')) return 'recovering';
  if (s.matches('offline')) return 'offline';
  return 'stopped';
}

/** Calls every waiter once and forgets them (a waiter that registers again while called waits for the next time). */
function wakeAll(waiters: Set<() => void>): void {
  if (waiters.size === 0) return;
  const all = [...waiters];
  waiters.clear();
  for (const w of all) w();
}
