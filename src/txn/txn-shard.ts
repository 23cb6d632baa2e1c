// What this broker holds for one __transaction_state partition it leads (Kafka's TransactionStateManager state
// for one partition): each transactional id's metadata (txn-metadata.ts), changed one request at a time per id,
// every change written to the partition with acks=all before it is adopted or anyone is answered, so a new
// coordinator rebuilds exactly what was acknowledged. Ending a transaction writes PrepareCommit/PrepareAbort,
// answers the producer, then has the markers written on every partition of the transaction and records
// CompleteCommit/CompleteAbort; a coordinator that loads a Prepare* state finishes the job (the leader epoch of
// this partition is the markers' coordinator epoch, which fences a deposed coordinator's late markers).
import type { PartitionReplica } from '../broker/partition-replica.ts';
import type { Clock } from '../runtime/clock.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { buildRecordBatch } from '../protocol/record-batch.ts';
import type { Logger } from '../util/logger.ts';
import { coordinatorErrorOf } from '../group/coordinator-shard.ts';
import { encodeTxn, txnKey } from './txn-log-format.ts';
import { completed, decideAdd, decideEnd, decideInit, MAX_PRODUCER_EPOCH, mayTransition, timedOut, verifyPartition, type Decision, type TxnMetadata } from './txn-metadata.ts';
import type { TxnMarkerType } from '../log/txn-marker.ts';

export interface TxnShardOptions {
  partition: number;
  replica: PartitionReplica;
  leaderEpoch: number;
  writeTimeoutMs: number;
  clock: Clock;
  logger: Logger;
  /** A new producer id (the broker's ProducerIdAllocator). */
  allocateProducerId(): Promise<number>;
  /**
   * Writes the transaction's markers on all its partitions, retrying until each is written or cannot be
   * (resolves true), or until `abandoned()` (resolves false: another coordinator will finish).
   */
  writeMarkers(m: TxnMetadata, result: TxnMarkerType, coordinatorEpoch: number, abandoned: () => boolean): Promise<boolean>;
}

export interface InitResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export class TxnShard {
  readonly txns = new Map<string, TxnMetadata>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private unloaded = false;

  constructor(readonly opts: TxnShardOptions) {}

  get replica(): PartitionReplica {
    return this.opts.replica;
  }

  get leaderEpoch(): number {
    return this.opts.leaderEpoch;
  }

  /** Takes what the loader read and finishes the transactions a previous coordinator left prepared. */
  adopt(txns: Map<string, TxnMetadata>): void {
    for (const [id, m] of txns) {
      this.txns.set(id, m);
      if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') this.complete(id);
    }
  }

  unload(): void {
    this.unloaded = true;
  }

  /** InitProducerId with a transactional id: a new producer id, or the next epoch (fencing the previous producer). */
  initProducerId(id: string, timeoutMs: number, expected: { producerId: number; producerEpoch: number } | null = null): Promise<InitResult> {
    return this.exclusive(id, async () => {
      const now = this.opts.clock.wall();
      const m = this.txns.get(id);
      // KIP-360: a producer that names its id and epoch must still be the current one, or it was fenced.
      if (expected && (!m || m.producerId !== expected.producerId || m.producerEpoch !== expected.producerEpoch)) {
        return { errorCode: m ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_ID_MAPPING, producerId: -1, producerEpoch: -1 };
      }
      if (!m) {
        const producerId = await this.opts.allocateProducerId();
        const fresh: TxnMetadata = { transactionalId: id, producerId, producerEpoch: 0, timeoutMs, state: 'Empty', partitions: {}, startTimestamp: -1, updateTimestamp: now };
        const code = await this.persist(undefined, fresh);
        return { errorCode: code, producerId: code === ErrorCode.NONE ? producerId : -1, producerEpoch: code === ErrorCode.NONE ? 0 : -1 };
      }
      let newId = -1;
      if (m.producerEpoch >= MAX_PRODUCER_EPOCH) newId = await this.opts.allocateProducerId(); // decideInit gives the exhausted id a new one
      const d = decideInit(m, timeoutMs, now, () => newId);
      if (d.errorCode !== undefined) return { errorCode: d.errorCode, producerId: -1, producerEpoch: -1 };
      const code = await this.persist(m, d.next!);
      if (code !== ErrorCode.NONE) return { errorCode: code, producerId: -1, producerEpoch: -1 };
      if (d.next!.state === 'PrepareAbort') {
        // The previous producer's open transaction is aborted at the bumped epoch (which fences it); the new
        // producer retries once that is done.
        this.opts.logger.info('fencing a transactional producer: its open transaction is aborted', { transactionalId: id, producerId: m.producerId, producerEpoch: d.next!.producerEpoch });
        this.complete(id);
        return { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: -1, producerEpoch: -1 };
      }
      return { errorCode: ErrorCode.NONE, producerId: d.next!.producerId, producerEpoch: d.next!.producerEpoch };
    });
  }

  /** AddPartitionsToTxn / AddOffsetsToTxn. */
  addPartitions(id: string, producerId: number, producerEpoch: number, partitions: Record<string, number[]>): Promise<number> {
    return this.exclusive(id, () => this.apply(id, (m) => decideAdd(m, producerId, producerEpoch, partitions, this.opts.clock.wall())));
  }

  /** EndTxn: answered once PrepareCommit/PrepareAbort is written; the markers follow. */
  endTransaction(id: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    return this.exclusive(id, async () => {
      const code = await this.apply(id, (m) => decideEnd(m, producerId, producerEpoch, commit, this.opts.clock.wall()));
      const state = this.txns.get(id)?.state;
      if (code === ErrorCode.NONE && (state === 'PrepareCommit' || state === 'PrepareAbort')) this.complete(id);
      return code;
    });
  }

  /** KIP-890 part 1: whether the partition is in the producer's open transaction (no write). */
  verify(id: string, producerId: number, producerEpoch: number, topic: string, partition: number): number {
    if (this.unloaded) return ErrorCode.NOT_COORDINATOR;
    return verifyPartition(this.txns.get(id), producerId, producerEpoch, topic, partition);
  }

  /** Aborts every transaction open past its timeout (Kafka's abortTimedOutTransactions), fencing its producer. */
  abortTimedOut(): void {
    const now = this.opts.clock.wall();
    for (const [id, m] of this.txns) {
      if (!timedOut(m, now)) continue;
      void this.exclusive(id, async () => {
        const current = this.txns.get(id);
        const next = current && timedOut(current, this.opts.clock.wall());
        if (!next) return;
        if ((await this.persist(current, next)) !== ErrorCode.NONE) return;
        this.opts.logger.info('transaction timed out: aborting it and fencing its producer', { transactionalId: id, producerId: next.producerId, timeoutMs: next.timeoutMs });
        this.complete(id);
      });
    }
  }

  /** Runs a decision: persists its next metadata (if any) and answers its error code. */
  private async apply(id: string, decide: (m: TxnMetadata | undefined) => Decision): Promise<number> {
    const m = this.txns.get(id);
    const d = decide(m);
    if (d.errorCode !== undefined) return d.errorCode;
    if (d.next === null) return ErrorCode.NONE;
    return this.persist(m, d.next);
  }

  /** Writes the next metadata with acks=all and adopts it; an illegal transition is a bug, refused loudly. */
  private async persist(prev: TxnMetadata | undefined, next: TxnMetadata): Promise<number> {
    if (this.unloaded) return ErrorCode.NOT_COORDINATOR;
    if (prev && !mayTransition(prev.state, next.state)) {
      this.opts.logger.error('illegal transaction state transition refused', { transactionalId: next.transactionalId, from: prev.state, to: next.state });
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    try {
      const batch = buildRecordBatch({ records: [{ key: txnKey(next.transactionalId), value: encodeTxn(next) }], timestamp: this.opts.clock.wall() });
      await this.opts.replica.produce(batch, -1, this.opts.writeTimeoutMs);
    } catch (err) {
      const code = coordinatorErrorOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) this.opts.logger.error('writing to __transaction_state failed', { partition: this.opts.partition, error: err as Error });
      return code;
    }
    if (this.unloaded) return ErrorCode.NOT_COORDINATOR;
    this.txns.set(next.transactionalId, next);
    return ErrorCode.NONE;
  }

  /** Writes the markers of a prepared transaction, then records it complete (in the background). */
  private complete(id: string): void {
    const m = this.txns.get(id);
    if (!m || (m.state !== 'PrepareCommit' && m.state !== 'PrepareAbort')) return;
    const result: TxnMarkerType = m.state === 'PrepareCommit' ? 'COMMIT' : 'ABORT';
    void (async () => {
      const written = await this.opts.writeMarkers(m, result, this.opts.leaderEpoch, () => this.unloaded);
      if (!written) return;
      // The completion is retried while this coordinator lasts (an ISR below min.insync.replicas passes); a
      // coordinator that loses the partition leaves it to the next, which finds Prepare* and writes the markers again.
      for (let attempt = 0; !this.unloaded; attempt++) {
        const code = await this.exclusive(id, async () => (this.txns.get(id) === m ? this.persist(m, completed(m, this.opts.clock.wall())) : ErrorCode.NONE));
        if (code === ErrorCode.NONE) return;
        if (attempt === 0) this.opts.logger.warn('the completion of a transaction was not written; retrying', { transactionalId: id, errorCode: code });
        await new Promise<void>((r) => this.opts.clock.setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
      }
    })().catch((err: unknown) => this.opts.logger.error('completing a transaction failed', { transactionalId: id, error: err as Error }));
  }

  /** One request at a time per transactional id. */
  private exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.catch(() => {});
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }
}
