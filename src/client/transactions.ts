// The transactional producer's client side (KIP-98), as the Java client's TransactionManager: the producer id
// and epoch come from the transactional id's coordinator (FindCoordinator key type 1, then InitProducerId there,
// which fences every earlier producer of the id); each partition joins the open transaction with
// AddPartitionsToTxn before its first batch is sent; sendOffsets adds the group's offsets partition
// (AddOffsetsToTxn) and commits the offsets at the group coordinator (TxnOffsetCommit); commit and abort are
// EndTxn once every batch was acknowledged. Coordinator moves (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) find
// the coordinator again; CONCURRENT_TRANSACTIONS (the previous transaction's markers are still being written) and
// COORDINATOR_LOAD_IN_PROGRESS are retried. A fenced producer (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH) is done
// for good: every later call fails with that error, as in the Java client.
import { ApiKey } from '../protocol/generated/api-keys.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Cluster, NodeConnection } from './cluster.ts';
import { KafkaClientError, KafkaProtocolError } from './errors.ts';

const TRANSACTION_KEY = 1 as const;
const GROUP_KEY = 0 as const;
/** Errors after which the coordinator is looked up again. */
const COORDINATOR_MOVED: number[] = [ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE];
const CONCURRENT_BACKOFF_MS = 5;
const CONCURRENT_RETRIES = 100;
const FATAL: number[] = [ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.INVALID_PRODUCER_ID_MAPPING];

export type TxnClientState = 'uninitialized' | 'ready' | 'in-transaction' | 'ending' | 'fatal';

export interface OffsetToCommit {
  topic: string;
  partition: number;
  /** The next offset to consume (the last processed + 1), as Kafka commits. */
  offset: bigint;
  metadata?: string | null;
}

export class TransactionManager {
  producerId = -1;
  epoch = -1;
  state: TxnClientState = 'uninitialized';
  private fatal: Error | null = null;
  /** Partitions (`topic\0partition`) in the open transaction. */
  private readonly added = new Set<string>();
  private readonly adding = new Map<string, Promise<void>>();
  private coordinator: Promise<number> | null = null;

  constructor(
    private readonly cluster: Cluster,
    readonly transactionalId: string,
    readonly timeoutMs: number,
  ) {}

  /** Fails with the fencing error once the producer was fenced, or when the state is not one of `allowed`. */
  assert(allowed: TxnClientState[], what: string): void {
    if (this.fatal) throw this.fatal;
    if (!allowed.includes(this.state)) throw new KafkaClientError('INVALID_TXN_STATE', `${what} is not allowed while the transactional producer is ${this.state}`);
  }

  /** InitProducerId at the coordinator: this producer's id and next epoch (fencing earlier producers of the id). */
  async init(): Promise<void> {
    this.assert(['uninitialized', 'ready'], 'initTransactions');
    const body = await this.atCoordinator('InitProducerId', (nc) =>
      this.cluster.send(nc, ApiKey.InitProducerId, () => ({ transactionalId: this.transactionalId, transactionTimeoutMs: this.timeoutMs, producerId: -1n, producerEpoch: -1 })),
    );
    this.producerId = Number(body.producerId);
    this.epoch = body.producerEpoch;
    this.state = 'ready';
  }

  begin(): void {
    this.assert(['ready'], 'beginTransaction');
    this.added.clear();
    this.offsetsAdded = false;
    this.sendError = null;
    this.state = 'in-transaction';
  }

  isAdded(topic: string, partition: number): boolean {
    return this.added.has(`${topic}\0${partition}`);
  }

  /**
   * AddPartitionsToTxn for a partition before its first batch. Partitions asked for together (one drain of the
   * producer's queues) or while a request is in flight share the next request, one at a time, as the Java
   * client's TransactionManager: each request is one write at the coordinator, so a transaction over six
   * partitions pays one, not six.
   */
  addPartition(topic: string, partition: number): Promise<void> {
    const key = `${topic}\0${partition}`;
    const existing = this.adding.get(key);
    if (existing) return existing;
    if (!this.nextAdd) {
      const batch = new Map<string, { topic: string; partition: number }>();
      const sent = (this.addInFlight ?? Promise.resolve())
        .catch(() => {})
        .then(() => {
          if (this.nextAdd?.batch === batch) this.nextAdd = null;
          return this.sendAdd([...batch.values()]);
        });
      this.nextAdd = { batch, sent };
      this.addInFlight = sent;
    }
    this.nextAdd.batch.set(key, { topic, partition });
    const p = this.nextAdd.sent.then(() => void this.added.add(key)).finally(() => this.adding.delete(key));
    this.adding.set(key, p);
    return p;
  }

  private nextAdd: { batch: Map<string, { topic: string; partition: number }>; sent: Promise<void> } | null = null;
  private addInFlight: Promise<void> | null = null;

  private async sendAdd(partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    await this.atCoordinator('AddPartitionsToTxn', async (nc) => {
      const r = await this.cluster.send(nc, ApiKey.AddPartitionsToTxn, () => ({
        v3AndBelowTransactionalId: this.transactionalId,
        v3AndBelowProducerId: BigInt(this.producerId),
        v3AndBelowProducerEpoch: this.epoch,
        v3AndBelowTopics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })),
      }));
      // One partition's error makes Kafka answer OPERATION_NOT_ATTEMPTED for the others: the request's error is that one.
      const codes = r.body.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((x) => x.partitionErrorCode));
      const code = codes.length === 0 ? ErrorCode.UNKNOWN_SERVER_ERROR : (codes.find((c) => c !== ErrorCode.NONE && c !== ErrorCode.OPERATION_NOT_ATTEMPTED) ?? codes.find((c) => c !== ErrorCode.NONE) ?? ErrorCode.NONE);
      return { version: r.version, body: { errorCode: code } };
    });
  }

  /** The group's offsets join the transaction and are committed with it (the consume-transform-produce step). */
  async sendOffsets(groupId: string, offsets: OffsetToCommit[]): Promise<void> {
    this.assert(['in-transaction'], 'sendOffsets');
    await this.atCoordinator('AddOffsetsToTxn', (nc) =>
      this.cluster.send(nc, ApiKey.AddOffsetsToTxn, () => ({ transactionalId: this.transactionalId, producerId: BigInt(this.producerId), producerEpoch: this.epoch, groupId })),
    );
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    let groupCoordinator: Promise<number> | null = null;
    await this.cluster.withRetry('TxnOffsetCommit', async () => {
      groupCoordinator ??= this.cluster.findCoordinator(groupId, GROUP_KEY);
      const nc = await this.cluster.nodeConnection(await groupCoordinator).catch((err: unknown) => {
        groupCoordinator = null; // unreachable: find the group's coordinator again
        throw err;
      });
      const { body } = await this.cluster.send(nc, ApiKey.TxnOffsetCommit, () => ({
        transactionalId: this.transactionalId,
        groupId,
        producerId: BigInt(this.producerId),
        producerEpoch: this.epoch,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [...byTopic].map(([name, os]) => ({
          name,
          partitions: os.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: o.metadata ?? null })),
        })),
      }));
      for (const t of body.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === ErrorCode.NONE) continue;
          if (COORDINATOR_MOVED.includes(p.errorCode)) groupCoordinator = null;
          throw this.fencedBy(new KafkaProtocolError(p.errorCode, { topic: t.name, partition: p.partitionIndex, message: 'TxnOffsetCommit failed' }));
        }
      }
    });
  }

  /** EndTxn; the caller flushed every batch of the transaction first. */
  async end(commit: boolean): Promise<void> {
    this.assert(['in-transaction'], commit ? 'commitTransaction' : 'abortTransaction');
    if (commit && this.sendError) {
      throw new KafkaClientError('INVALID_TXN_STATE', `the transaction cannot commit: a record failed (${this.sendError.message}); abort it`, {}, { cause: this.sendError });
    }
    this.state = 'ending';
    try {
      // A transaction that wrote nothing has nothing at the coordinator to end.
      if (this.added.size > 0 || this.adding.size > 0 || this.offsetsAdded) {
        await this.atCoordinator('EndTxn', (nc) =>
          this.cluster.send(nc, ApiKey.EndTxn, () => ({ transactionalId: this.transactionalId, producerId: BigInt(this.producerId), producerEpoch: this.epoch, committed: commit })),
        );
      }
      this.state = 'ready';
    } catch (err) {
      if (!this.fatal) this.state = 'in-transaction'; // may be retried (or aborted)
      throw err;
    } finally {
      if (this.state === 'ready') {
        this.added.clear();
        this.offsetsAdded = false;
        this.sendError = null;
      }
    }
  }

  private offsetsAdded = false;
  /** A record of the open transaction failed: it can only be aborted (Kafka's abortable error). */
  private sendError: Error | null = null;

  /** A record of the transaction failed for good: the transaction can only abort, and a fencing error ends the producer. */
  failure(err: Error): Error {
    this.sendError ??= err;
    return this.fencedBy(err);
  }

  /** A fencing error ends this producer for good: every later call fails with it, as the Java client's fatal state. */
  private fencedBy(err: Error): Error {
    if (err instanceof KafkaProtocolError && FATAL.includes(err.code)) {
      this.fatal = err;
      this.state = 'fatal';
    }
    return err;
  }

  /** Runs a coordinator request with retries: coordinator moves look it up again, CONCURRENT_TRANSACTIONS waits. */
  private async atCoordinator<B extends { errorCode: number }>(what: string, call: (nc: NodeConnection) => Promise<{ version: number; body: B }>): Promise<B> {
    return this.cluster.withRetry(what, async () => {
      this.coordinator ??= this.cluster.findCoordinator(this.transactionalId, TRANSACTION_KEY);
      let nodeId: number;
      try {
        nodeId = await this.coordinator;
      } catch (err) {
        this.coordinator = null;
        throw err;
      }
      let body: B;
      try {
        body = (await call(await this.cluster.nodeConnection(nodeId))).body;
        // The previous transaction's markers are being written: ask again soon rather than after the general
        // retry backoff, as the Java client does (20 ms for CONCURRENT_TRANSACTIONS), a bounded number of times.
        for (let i = 0; i < CONCURRENT_RETRIES && body.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS; i++) {
          await new Promise((r) => setTimeout(r, CONCURRENT_BACKOFF_MS));
          body = (await call(await this.cluster.nodeConnection(nodeId))).body;
        }
      } catch (err) {
        // The coordinator's broker cannot be reached (it died): find the coordinator again, as the Java client
        // does for an unreachable coordinator, instead of asking the dead broker until the retries run out.
        this.coordinator = null;
        throw err;
      }
      if (body.errorCode === ErrorCode.NONE) {
        if (what === 'AddOffsetsToTxn') this.offsetsAdded = true;
        return body;
      }
      if (COORDINATOR_MOVED.includes(body.errorCode)) this.coordinator = null;
      // Kafka marks the coordinator errors and CONCURRENT_TRANSACTIONS retriable: withRetry asks again.
      throw this.fencedBy(new KafkaProtocolError(body.errorCode, { message: `${what} for transactional id ${this.transactionalId} failed` }));
    });
  }
}
