// The idempotent producer's client side (KIP-98, KIP-360): one producer id and epoch from InitProducerId,
// and per partition the next sequence number. A batch takes its sequence when it is first built and keeps
// it (and its bytes) through every retry, so the broker recognises a retry of a batch it already stored
// and answers with the original offsets. After OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID the
// epoch is bumped (InitProducerId v3+ with the current id and epoch) and every partition starts again at
// sequence 0, as the Java client does for an idempotent producer.
import { ApiKey } from '../protocol/generated/api-keys.ts';
import type { Cluster } from './cluster.ts';
import { KafkaClientError, KafkaProtocolError } from './errors.ts';
import type { TransactionManager } from './transactions.ts';

const INT32_MAX = 0x7fff_ffff;
export const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
export const INVALID_PRODUCER_EPOCH = 47;
export const UNKNOWN_PRODUCER_ID = 59;

export class ProducerIdentity {
  producerId = -1;
  epoch = -1;
  private readonly sequences = new Map<string, number>();
  private pending: Promise<void> | null = null;

  constructor(
    private readonly cluster: Cluster,
    /** A transactional producer's id and epoch come from its coordinator. */
    private readonly txn: TransactionManager | null = null,
  ) {}

  get ready(): boolean {
    const txn = this.txn;
    if (txn && (this.producerId !== txn.producerId || this.epoch !== txn.epoch)) {
      // initTransactions() gave a new id or epoch: every partition starts again at sequence 0.
      this.producerId = txn.producerId;
      this.epoch = txn.epoch;
      this.sequences.clear();
    }
    return this.producerId >= 0;
  }

  /** An InitProducerId is outstanding: nothing may be sent until it settles. */
  get initializing(): boolean {
    return this.pending !== null;
  }

  /** InitProducerId (with retries); with `bump`, asks for the next epoch of the current id. */
  init(bump = false): Promise<void> {
    if (this.txn) {
      // initTransactions() set the id: the broker's epoch bump after a sequence error is not a transactional
      // producer's to ask for (the Java client aborts the transaction instead).
      if (!this.ready) return Promise.reject(new KafkaClientError('INVALID_TXN_STATE', 'initTransactions() must be called before sending'));
      return Promise.resolve();
    }
    this.pending ??= this.cluster
      .withRetry('InitProducerId', async () => {
        const nc = await this.cluster.anyConnection();
        // Before v3 a bump cannot be asked for: a fresh id at epoch 0 serves the same purpose.
        const { version, body } = await this.cluster.send(nc, ApiKey.InitProducerId, (v) => ({
          transactionalId: null,
          transactionTimeoutMs: -1,
          producerId: bump && v >= 3 && this.producerId >= 0 ? BigInt(this.producerId) : -1n,
          producerEpoch: bump && v >= 3 && this.producerId >= 0 ? this.epoch : -1,
        }));
        if (body.errorCode !== 0) throw new KafkaProtocolError(body.errorCode, { message: `InitProducerId v${version} failed` });
        this.producerId = Number(body.producerId);
        this.epoch = body.producerEpoch;
        this.sequences.clear();
      })
      .finally(() => (this.pending = null));
    return this.pending;
  }

  /** Takes the sequence for a batch of `count` records on a partition and advances it (wrapping at Int32.MAX). */
  takeSequence(topic: string, partition: number, count: number): number {
    const key = `${topic}\0${partition}`;
    const seq = this.sequences.get(key) ?? 0;
    const next = seq + count;
    this.sequences.set(key, next > INT32_MAX ? next - INT32_MAX - 1 : next);
    return seq;
  }
}

/** Errors after which the producer bumps its epoch and resends with fresh sequence numbers. */
export function needsEpochBump(err: unknown): boolean {
  return err instanceof KafkaProtocolError && (err.code === OUT_OF_ORDER_SEQUENCE_NUMBER || err.code === UNKNOWN_PRODUCER_ID);
}
