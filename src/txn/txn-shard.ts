// What this broker holds for one __transaction_state partition it leads (Kafka's TransactionStateManager state
// for one partition): one actor per transactional id (machines/transaction.ts), changed one request at a time
// per id, every change written to the partition with acks=all before the actor gets it or anyone is answered,
// so a new coordinator rebuilds exactly what was acknowledged. The actor's effects are carried out here:
// entering PrepareCommit/PrepareAbort has the markers written on every partition of the transaction and then
// CompleteCommit/CompleteAbort recorded (a coordinator that loads a Prepare* state does the same; the leader
// epoch of this partition is the markers' coordinator epoch, which fences a deposed coordinator's late
// markers); a timed-out transaction is aborted and its producer fenced; an expired id is removed by a tombstone.
import { createActor, type Actor } from 'xstate';
import type { PartitionReplica } from '../broker/partition-replica.ts';
import type { Clock } from '../runtime/clock.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { buildRecordBatch } from '../protocol/record-batch.ts';
import type { Logger } from '../util/logger.ts';
import { coordinatorErrorOf } from '../group/coordinator-shard.ts';
import { transactionMachine } from '../../machines/transaction.ts';
import { encodeTxn, txnKey } from './txn-log-format.ts';
import { completed, decideAdd, decideEnd, decideInit, exhaustedEpoch, isPreparing, mayExpire, timedOut, verifyPartition, type Decision, type TxnMetadata } from './txn-metadata.ts';
import type { TxnMarkerType } from '../log/txn-marker.ts';

export interface TxnShardOptions {
  partition: number;
  replica: PartitionReplica;
  leaderEpoch: number;
  writeTimeoutMs: number;
  /** transactional.id.expiration.ms */
  idExpirationMs: number;
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

type TxnActor = Actor<typeof transactionMachine>;

/** How long a request waits for the id's previous transaction to complete before CONCURRENT_TRANSACTIONS. */
const SETTLE_WAIT_MS = 500;

export class TxnShard {
  private readonly actors = new Map<string, TxnActor>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private unloaded = false;

  constructor(readonly opts: TxnShardOptions) {}

  get replica(): PartitionReplica {
    return this.opts.replica;
  }

  get leaderEpoch(): number {
    return this.opts.leaderEpoch;
  }

  /** Every transactional id this shard coordinates, with its last written metadata. */
  get txns(): Map<string, TxnMetadata> {
    return new Map([...this.actors].map(([id, actor]) => [id, actor.getSnapshot().context.txn]));
  }

  /** Each transactional id's actor (the dashboard's actor directory). */
  actorsById(): Array<[string, TxnActor]> {
    return [...this.actors];
  }

  metadata(id: string): TxnMetadata | undefined {
    return this.actors.get(id)?.getSnapshot().context.txn;
  }

  /** Takes what the loader read: each id's machine resumes in its state (a prepared transaction is finished). */
  adopt(txns: Map<string, TxnMetadata>): void {
    const now = this.opts.clock.wall();
    for (const [id, m] of txns) this.spawn(id, m, now);
  }

  unload(): void {
    this.unloaded = true;
    for (const actor of this.actors.values()) actor.stop();
    this.actors.clear();
  }

  /** InitProducerId with a transactional id: a new producer id, or the next epoch (fencing the previous producer). */
  initProducerId(id: string, timeoutMs: number, expected: { producerId: number; producerEpoch: number } | null = null): Promise<InitResult> {
    const refused = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    return this.settled(id).then(() => this.exclusive(id, async () => {
      const now = this.opts.clock.wall();
      const m = this.metadata(id);
      // KIP-360: a producer that names its id and epoch must still be the current one, or it was fenced.
      if (expected && (!m || m.producerId !== expected.producerId || m.producerEpoch !== expected.producerEpoch)) {
        return refused(m ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      }
      let next: TxnMetadata;
      if (!m) {
        next = { transactionalId: id, producerId: await this.opts.allocateProducerId(), producerEpoch: 0, timeoutMs, state: 'Empty', partitions: {}, startTimestamp: -1, updateTimestamp: now };
      } else {
        const d = decideInit(m, timeoutMs, now, exhaustedEpoch(m) ? await this.opts.allocateProducerId() : -1);
        if (d.errorCode !== undefined) return refused(d.errorCode);
        next = d.next!;
      }
      const code = await this.persist(next);
      if (code !== ErrorCode.NONE) return refused(code);
      if (next.state === 'PrepareAbort') {
        // The previous producer's open transaction is being aborted at the bumped epoch (which fences it); the
        // new producer retries once that is done.
        this.opts.logger.info('fencing a transactional producer: its open transaction is aborted', { transactionalId: id, producerId: next.producerId, producerEpoch: next.producerEpoch });
        return refused(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      return { errorCode: ErrorCode.NONE, producerId: next.producerId, producerEpoch: next.producerEpoch };
    }));
  }

  /** AddPartitionsToTxn / AddOffsetsToTxn. */
  addPartitions(id: string, producerId: number, producerEpoch: number, partitions: Record<string, number[]>): Promise<number> {
    return this.settled(id).then(() => this.exclusive(id, () => this.apply(id, (m) => decideAdd(m, producerId, producerEpoch, partitions, this.opts.clock.wall()))));
  }

  /** EndTxn: answered once PrepareCommit/PrepareAbort is written; the machine has the markers written next. */
  endTransaction(id: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    return this.exclusive(id, () => this.apply(id, (m) => decideEnd(m, producerId, producerEpoch, commit, this.opts.clock.wall())));
  }

  /** KIP-890 part 1: whether the partition is in the producer's open transaction (no write). */
  verify(id: string, producerId: number, producerEpoch: number, topic: string, partition: number): number {
    if (this.unloaded) return ErrorCode.NOT_COORDINATOR;
    return verifyPartition(this.metadata(id), producerId, producerEpoch, topic, partition);
  }

  /**
   * Waits (at most SETTLE_WAIT_MS) while the id's previous transaction is being completed — its markers being
   * written, a few milliseconds — so the next AddPartitionsToTxn or InitProducerId is answered when it can be
   * done rather than with CONCURRENT_TRANSACTIONS and a client retry; a completion that takes longer (a partition
   * without a leader) still gets CONCURRENT_TRANSACTIONS.
   */
  private settled(id: string): Promise<void> {
    const actor = this.actors.get(id);
    const preparing = () => actor!.getSnapshot().status === 'active' && isPreparing(actor!.getSnapshot().context.txn.state);
    if (!actor || !preparing()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.opts.clock.clearTimeout(timer);
        sub.unsubscribe();
        resolve();
      };
      const timer = this.opts.clock.setTimeout(done, SETTLE_WAIT_MS);
      const sub = actor.subscribe({ next: () => void (preparing() || done()), complete: done, error: done });
    });
  }

  private spawn(id: string, txn: TxnMetadata, now: number): void {
    const machine = transactionMachine.provide({
      actions: {
        writeMarkers: (_, p) => this.complete(p.txn),
        abortTimedOut: (_, p) => this.abortTimedOut(p.txn),
        expireId: (_, p) => this.expireId(p.txn),
      },
    });
    const actor = createActor(machine, { input: { txn, now, idExpirationMs: this.opts.idExpirationMs }, clock: this.opts.clock });
    this.actors.set(id, actor);
    actor.subscribe({
      complete: () => {
        if (this.actors.get(id) === actor) this.actors.delete(id);
      },
    });
    actor.start();
  }

  /** Runs a decision: persists its next metadata (if any) and answers its error code. */
  private async apply(id: string, decide: (m: TxnMetadata | undefined) => Decision): Promise<number> {
    const d = decide(this.metadata(id));
    if (d.errorCode !== undefined) return d.errorCode;
    if (d.next === null) return ErrorCode.NONE;
    return this.persist(d.next);
  }

  /**
   * Writes the next metadata with acks=all (Dead as a tombstone) and hands it to the id's machine; a transition
   * the machine would refuse is a bug, refused loudly before anything is written.
   */
  private async persist(next: TxnMetadata): Promise<number> {
    if (this.unloaded) return ErrorCode.NOT_COORDINATOR;
    const id = next.transactionalId;
    const now = this.opts.clock.wall();
    const actor = this.actors.get(id);
    if (actor && !actor.getSnapshot().can({ type: 'WRITTEN', txn: next, now })) {
      this.opts.logger.error('illegal transaction state transition refused', { transactionalId: id, from: actor.getSnapshot().value as string, to: next.state });
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    try {
      const value = next.state === 'Dead' ? null : encodeTxn(next);
      const batch = buildRecordBatch({ records: [{ key: txnKey(id), value }], timestamp: now });
      await this.opts.replica.produce(batch, -1, this.opts.writeTimeoutMs);
    } catch (err) {
      const code = coordinatorErrorOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) this.opts.logger.error('writing to __transaction_state failed', { partition: this.opts.partition, error: err as Error });
      return code;
    }
    if (this.unloaded) return ErrorCode.NOT_COORDINATOR;
    const written = this.opts.clock.wall();
    if (actor) actor.send({ type: 'WRITTEN', txn: next, now: written });
    else this.spawn(id, next, written);
    return ErrorCode.NONE;
  }

  /** The machine entered PrepareCommit/PrepareAbort: the markers are written, then the completion recorded. */
  private complete(m: TxnMetadata): void {
    const result: TxnMarkerType = m.state === 'PrepareCommit' ? 'COMMIT' : 'ABORT';
    void (async () => {
      const written = await this.opts.writeMarkers(m, result, this.opts.leaderEpoch, () => this.unloaded);
      // A coordinator that loses the partition leaves the rest to the next, which finds Prepare* and writes the
      // markers again.
      if (written) await this.retrying(m.transactionalId, 'the completion of a transaction', (current) => (current === m ? completed(m, this.opts.clock.wall()) : null));
    })().catch((err: unknown) => this.opts.logger.error('completing a transaction failed', { transactionalId: m.transactionalId, error: err as Error }));
  }

  /** The machine's timer: the transaction is still open past its timeout; it is aborted and its producer fenced. */
  private abortTimedOut(m: TxnMetadata): void {
    const id = m.transactionalId;
    this.opts.logger.info('transaction timed out: aborting it and fencing its producer', { transactionalId: id, producerId: m.producerId, timeoutMs: m.timeoutMs });
    const sameTxn = (c: TxnMetadata) => c.producerId === m.producerId && c.producerEpoch === m.producerEpoch && c.startTimestamp === m.startTimestamp;
    void this.retrying(id, 'the abort of a timed-out transaction', (current) => (sameTxn(current) ? timedOut(current, this.opts.clock.wall()) : null));
  }

  /** The machine's timer: the id was idle for transactional.id.expiration.ms; it is removed (Kafka's Dead). */
  private expireId(m: TxnMetadata): void {
    const id = m.transactionalId;
    this.opts.logger.info('transactional id expired', { transactionalId: id, producerId: m.producerId, idleMs: this.opts.idExpirationMs });
    void this.retrying(id, 'the expiration of a transactional id', (current) =>
      current.updateTimestamp === m.updateTimestamp && mayExpire(current) ? { ...current, state: 'Dead', partitions: {}, updateTimestamp: this.opts.clock.wall() } : null,
    );
  }

  /**
   * Writes what `next` makes of the id's current metadata, retried with backoff while this coordinator lasts
   * (an ISR below min.insync.replicas passes); done when written or when `next` answers null (nothing to do).
   */
  private async retrying(id: string, what: string, next: (current: TxnMetadata) => TxnMetadata | null): Promise<void> {
    for (let attempt = 0; !this.unloaded; attempt++) {
      const code = await this.exclusive(id, async () => {
        const current = this.metadata(id);
        const m = current && next(current);
        return m ? this.persist(m) : ErrorCode.NONE;
      });
      if (code === ErrorCode.NONE) return;
      if (attempt === 0) this.opts.logger.warn(`${what} was not written; retrying`, { transactionalId: id, errorCode: code });
      await new Promise<void>((r) => this.opts.clock.setTimeout(r, Math.min(1000, 100 * 2 ** Math.min(attempt, 4))));
    }
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
