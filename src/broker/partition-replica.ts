// One partition replica on this broker: its log, its state machine actor, and the plain objects of the data
// path that must not become actor events — the fetchers waiting for new data and the acks=all producers
// waiting for the high watermark.
//
// The actor (machines/partition-replica.ts) decides the role from the leader epoch; this object answers the
// byte-level questions (append, read) using the role the actor is in. High watermark = the smallest log end
// offset among the in-sync replicas (Kafka's definition); with a single in-sync replica it is the log end
// offset after each append.
import { createActor, fromPromise, type Actor } from 'xstate';
import { join } from 'node:path';
import { partitionReplicaMachine, type Assignment } from '../../machines/partition-replica.ts';
import { PartitionLog, type LogConfig } from '../log/partition-log.ts';
import type { Storage } from '../log/storage.ts';
import { validateBatch } from '../protocol/record-batch.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { KafkaError } from './kafka-error.ts';
import type { Logger } from '../util/logger.ts';

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
  clock: () => number;
  logger: Logger;
}

interface AckWaiter {
  offset: number; // resolved once the high watermark is past this offset
  resolve: () => void;
  reject: (err: KafkaError) => void;
  timer: NodeJS.Timeout;
}

export type ReplicaRole = 'recovering' | 'leader' | 'follower' | 'offline' | 'stopped';

export class PartitionReplica {
  readonly dir: string;
  log: PartitionLog | null = null;
  readonly actor: Actor<typeof partitionReplicaMachine>;
  private readonly dataWaiters = new Set<() => void>();
  private ackWaiters: AckWaiter[] = [];
  /** Log end offsets of followers, learnt from their fetches (replication, later issue). */
  readonly followerEndOffsets = new Map<number, number>();
  private opening: Promise<PartitionLog> | null = null;

  constructor(readonly opts: PartitionReplicaOptions) {
    this.dir = join(opts.dataDir, `${opts.topic}-${opts.partition}`);
    const machine = partitionReplicaMachine.provide({
      actors: {
        recoverLog: fromPromise(async () => {
          const log = await this.openLog();
          return { logEndOffset: log.logEndOffset, highWatermark: log.highWatermark };
        }),
        closeLog: fromPromise(async () => this.closeLog(false)),
        deleteLog: fromPromise(async () => this.closeLog(true)),
      },
      actions: {
        startLeading: ({ context }) => this.onLeading(context.leaderEpoch),
        stopLeading: () => this.failAckWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved'),
        reportFailure: (_, params) => opts.logger.error('partition replica offline: its log could not be recovered', { topic: opts.topic, partition: opts.partition, error: params.error }),
      },
    });
    this.actor = createActor(machine, {
      systemId: `partition-${opts.topic}-${opts.partition}@broker-${opts.brokerId}`,
      input: { topic: opts.topic, partition: opts.partition, brokerId: opts.brokerId, assignment: opts.assignment },
    });
  }

  get topic(): string {
    return this.opts.topic;
  }
  get partition(): number {
    return this.opts.partition;
  }

  start(): void {
    this.actor.start();
  }

  get role(): ReplicaRole {
    const s = this.actor.getSnapshot();
    if (s.matches('leader')) return 'leader';
    if (s.matches('follower')) return 'follower';
    if (s.matches('recovering') || s.matches('deciding')) return 'recovering';
    if (s.matches('offline')) return 'offline';
    return 'stopped';
  }

  get leaderEpoch(): number {
    return this.actor.getSnapshot().context.leaderEpoch;
  }

  get isr(): number[] {
    return this.actor.getSnapshot().context.isr;
  }

  assign(a: Assignment): void {
    this.actor.send({ type: 'ASSIGNMENT', ...a });
  }

  /** Resolves when the actor has reached a final state (the log is closed or deleted). */
  async stop(deleteData: boolean): Promise<void> {
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
    this.opening ??= PartitionLog.open({
      dir: this.dir,
      storage: this.opts.storage,
      config: this.opts.logConfig,
      clock: this.opts.clock,
      onWarning: (msg, facts) => this.opts.logger.warn(msg, { topic: this.topic, partition: this.partition, ...facts }),
    }).then((log) => (this.log = log));
    return this.opening;
  }

  private async closeLog(deleteData: boolean): Promise<void> {
    this.failAckWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'replica stopped');
    this.wakeFetchers();
    const log = this.opening ? await this.opening.catch(() => null) : null;
    this.log = null;
    if (!log) return;
    if (deleteData) await log.delete();
    else await log.close();
  }

  private onLeading(epoch: number): void {
    const log = this.log;
    if (!log) return;
    // Kafka's leader-epoch cache: this epoch's records start at the current log end offset.
    if (log.epochs.latestEpoch() < epoch) log.epochs.assign(epoch, log.logEndOffset);
    this.advanceHighWatermark();
  }

  private requireLeaderLog(): PartitionLog {
    if (this.role !== 'leader' || !this.log) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${this.opts.brokerId} is not the leader of ${this.topic}-${this.partition}`, {
        topic: this.topic,
        partition: this.partition,
      });
    }
    return this.log;
  }

  /**
   * Validates and appends a produced records buffer as the leader. Resolves per acks: after the append
   * (0, 1) or once the high watermark passed the batch (-1).
   */
  async produce(records: Buffer, acks: number, timeoutMs: number): Promise<{ baseOffset: number; logStartOffset: number }> {
    const log = this.requireLeaderLog();
    const check = validateBatch(records, 0, records.length);
    if (!check.ok) throw new KafkaError(check.errorCode, check.reason, { topic: this.topic, partition: this.partition });
    if (check.size !== records.length) {
      // Produce v3+ carries exactly one batch per partition.
      throw new KafkaError(ErrorCode.INVALID_RECORD, 'a produce request must carry exactly one record batch per partition', {
        topic: this.topic,
        partition: this.partition,
      });
    }
    if (records.length > this.opts.maxMessageBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${records.length} bytes exceeds max.message.bytes ${this.opts.maxMessageBytes}`);
    }
    if (acks === -1 && this.isr.length < this.opts.minInsyncReplicas) {
      throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, `ISR ${this.isr.length} is below min.insync.replicas ${this.opts.minInsyncReplicas}`);
    }
    const { baseOffset, lastOffset } = await log.append(records, this.leaderEpoch);
    this.advanceHighWatermark();
    if (acks === -1 && log.highWatermark <= lastOffset) await this.waitForHighWatermark(lastOffset, timeoutMs);
    return { baseOffset, logStartOffset: log.logStartOffset };
  }

  private waitForHighWatermark(offset: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: AckWaiter = {
        offset,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.ackWaiters = this.ackWaiters.filter((w) => w !== waiter);
          reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `the in-sync replicas did not reach offset ${offset} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.ackWaiters.push(waiter);
    });
  }

  private failAckWaiters(code: number, why: string): void {
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(new KafkaError(code, why));
    }
  }

  /** Recomputes the high watermark from the ISR's log end offsets; wakes fetchers and acks=all producers. */
  advanceHighWatermark(): void {
    const log = this.log;
    if (!log) return;
    let hw = log.logEndOffset;
    for (const id of this.isr) {
      if (id === this.opts.brokerId) continue;
      hw = Math.min(hw, this.followerEndOffsets.get(id) ?? 0);
    }
    if (hw > log.highWatermark) {
      log.setHighWatermark(hw);
      this.actor.send({ type: 'HIGH_WATERMARK', highWatermark: hw, logEndOffset: log.logEndOffset });
      if (this.ackWaiters.length > 0) {
        const still: AckWaiter[] = [];
        for (const w of this.ackWaiters) {
          if (w.offset < hw) {
            clearTimeout(w.timer);
            w.resolve();
          } else still.push(w);
        }
        this.ackWaiters = still;
      }
      this.wakeFetchers();
    }
  }

  /** Reads whole batches for a consumer: only below the high watermark, from the leader. */
  async fetch(offset: number, maxBytes: number): Promise<{ data: Buffer; highWatermark: number; logStartOffset: number }> {
    const log = this.requireLeaderLog();
    const highWatermark = log.highWatermark;
    if (offset < log.logStartOffset || offset > highWatermark) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${log.logStartOffset}, ${highWatermark}]`, {
        topic: this.topic,
        partition: this.partition,
        offset,
      });
    }
    if (offset === highWatermark) return { data: EMPTY, highWatermark, logStartOffset: log.logStartOffset };
    const r = await log.read(offset, maxBytes, highWatermark);
    return { data: r.data, highWatermark, logStartOffset: log.logStartOffset };
  }

  /** Calls `fn` once when new data may be readable (high watermark moved) or the replica stops. */
  onceData(fn: () => void): () => void {
    this.dataWaiters.add(fn);
    return () => this.dataWaiters.delete(fn);
  }

  private wakeFetchers(): void {
    if (this.dataWaiters.size === 0) return;
    const waiters = [...this.dataWaiters];
    this.dataWaiters.clear();
    for (const w of waiters) w();
  }
}

const EMPTY = Buffer.alloc(0);
