// Kastor's producer: records are appended to a per-partition accumulator and sent as one RecordBatch v2 per
// partition per Produce request, with the partitions of one leader grouped into one request per broker — the
// Java client's RecordAccumulator + Sender. A partition's batch is sent when it reaches batchSize bytes or has
// waited lingerMs (0: the next turn of the event loop, so every send() of one tick shares a batch); while a
// broker already has maxInFlightRequests requests outstanding, batches keep growing, which is where the
// throughput comes from.
//
// Failures: a retriable partition error or a lost connection puts the batch back at the front of its
// partition's queue, refreshes metadata and sends it again to whoever leads the partition then, with
// exponential backoff, until `retry.retries` attempts or deliveryTimeoutMs. Without idempotence, a retried
// batch that the old leader had in fact appended can be duplicated, and with more than one request in flight
// a retry can reorder — as with Kafka's enable.idempotence=false. With `idempotent: true` (KIP-98) the
// producer gets a producer id, numbers each partition's batches, keeps one batch per partition in flight and
// resends a retry byte for byte, so the broker stores it once and in order (idempotence.ts).
import { buildRecordBatch, type RecordInput } from '../protocol/record-batch-builder.ts';
import type { CompressionCodec } from '../protocol/record-batch-layout.ts';
import { ApiKey } from '../protocol/generated/api-keys.ts';
import type { ProduceResponse } from '../protocol/generated/produce.ts';
import { partitionForKey } from './partitioner.ts';
import { Cluster, type ClusterOptions, type RetryOptions, type TopicMetadata } from './cluster.ts';
import { ConnectionError, KafkaClientError, KafkaProtocolError, isRetriable } from './errors.ts';
import { TransactionManager, type OffsetToCommit } from './transactions.ts';
import { ProducerIdentity, needsEpochBump } from './idempotence.ts';

type Bytes = Buffer | string | null;

export type Acks = 0 | 1 | -1 | 'all';

export interface ProducerOptions {
  /** 0: no response; 1: the leader appended; -1 / 'all': every in-sync replica has it (default 'all'). */
  acks?: Acks;
  /** How long a partition's batch waits for more records before it is sent (default 0: the next tick). */
  lingerMs?: number;
  /** A partition's batch is sent once it holds this many bytes of records (default 1 MiB). */
  batchSize?: number;
  /** The batches' codec (default none); every Kafka codec, in JavaScript or WASM (src/protocol/compression). */
  compression?: CompressionCodec;
  /** How records without a key are spread: one partition after another per record, or per batch. */
  partitioner?: 'round-robin' | 'sticky';
  /** Produce request timeout the broker applies to acks=all (default 30 s). */
  timeoutMs?: number;
  /** Requests outstanding per broker (default 5). */
  maxInFlightRequests?: number;
  /** send() waits while more than this many record bytes are buffered (default 64 MiB). */
  maxBufferedBytes?: number;
  /** A record not acknowledged within this time fails (default 60 s). */
  deliveryTimeoutMs?: number;
  /** Ask the broker to create an unknown topic (default true, as Kafka producers do). */
  allowAutoTopicCreation?: boolean;
  /**
   * Exactly-once appends per partition within a producer session (KIP-98, default false): needs acks 'all';
   * one batch per partition is in flight at a time, so retries never reorder.
   */
  idempotent?: boolean;
  /**
   * Makes the producer transactional (KIP-98; implies idempotent): initTransactions() once, then records are
   * sent between beginTransaction() and commitTransaction() / abortTransaction(); a later producer with the
   * same id fences this one.
   */
  transactionalId?: string;
  /** transaction.timeout.ms: the coordinator aborts a transaction open longer (default 60 s). */
  transactionTimeoutMs?: number;
  retry?: RetryOptions;
}

export interface ProducerMessage {
  key?: Bytes;
  value: Bytes;
  /** Header values may repeat a key when given as a list. */
  headers?: Record<string, Bytes> | Array<{ key: string; value: Bytes }>;
  /** Send to this partition instead of the partitioner's choice. */
  partition?: number;
  /** Create time in ms (default: now). */
  timestamp?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: ProducerMessage[];
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1n with acks=0, where the broker does not answer. */
  offset: bigint;
  timestamp: number;
}

interface SendOp {
  results: RecordMetadata[];
  remaining: number;
  done: boolean;
  resolve: (r: RecordMetadata[]) => void;
  reject: (e: Error) => void;
}

interface PendingBatch {
  topic: string;
  partition: number;
  records: RecordInput[];
  ops: SendOp[];
  indexes: number[];
  bytes: number;
  createdAt: number;
  full: boolean;
  attempts: number;
  retryAt: number;
  built: Buffer | null;
  /** The producer epoch `built` carries (idempotent producer), -1 otherwise. */
  builtEpoch: number;
  lastError: unknown;
}

const RECORD_OVERHEAD = 24;

function bytesLength(v: Bytes | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

function toHeaderList(h: ProducerMessage['headers']): Array<{ key: string; value: Bytes }> | undefined {
  if (!h) return undefined;
  if (Array.isArray(h)) return h;
  return Object.entries(h).map(([key, value]) => ({ key, value }));
}

export class Producer {
  readonly cluster: Cluster;
  private readonly acks: number;
  private readonly lingerMs: number;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly maxBuffered: number;
  private readonly deliveryTimeoutMs: number;
  private readonly queues = new Map<string, PendingBatch[]>();
  private readonly inFlight = new Map<number, number>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly roundRobin = new Map<string, number>();
  private readonly refreshing = new Set<string>();
  private readonly topicLoads = new Map<string, Promise<TopicMetadata>>();
  private bufferedBytes = 0;
  private spaceWaiters: Array<() => void> = [];
  private drainScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private forceSend = 0;
  private closed = false;
  /** Producer id, epoch and sequences when idempotent; null otherwise. */
  private readonly identity: ProducerIdentity | null;
  /** Partitions (`topic\0partition`) with a batch in flight: at most one each when idempotent. */
  private readonly busy = new Set<string>();
  /** The transaction state when transactional; null otherwise. */
  private readonly txn: TransactionManager | null;

  constructor(
    clusterOptions: ClusterOptions,
    readonly options: ProducerOptions = {},
  ) {
    this.cluster = new Cluster({ ...clusterOptions, retry: options.retry ?? clusterOptions.retry });
    const acks = options.acks ?? 'all';
    this.acks = acks === 'all' ? -1 : acks;
    if (![0, 1, -1].includes(this.acks)) throw new KafkaClientError('INVALID_ARGUMENT', `acks must be 0, 1, -1 or 'all', got ${String(acks)}`);
    const idempotent = options.idempotent || options.transactionalId !== undefined;
    if (idempotent && this.acks !== -1) {
      throw new KafkaClientError('INVALID_ARGUMENT', `the ${options.transactionalId !== undefined ? 'transactional' : 'idempotent'} producer needs acks 'all', got ${String(acks)}`);
    }
    this.txn = options.transactionalId !== undefined ? new TransactionManager(this.cluster, options.transactionalId, options.transactionTimeoutMs ?? 60_000) : null;
    this.identity = idempotent ? new ProducerIdentity(this.cluster, this.txn) : null;
    this.lingerMs = options.lingerMs ?? 0;
    this.batchSize = options.batchSize ?? 1024 * 1024;
    this.maxInFlight = options.maxInFlightRequests ?? 5;
    this.maxBuffered = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 60_000;
  }

  /** Connects and loads cluster metadata (optional: send() does it on first use). */
  async connect(): Promise<void> {
    await this.cluster.withRetry('connect', () => this.cluster.refreshMetadata([]));
  }

  /**
   * Appends messages to their partitions' batches and resolves, once every one is acknowledged as acks asks,
   * with each message's partition and offset, in the order given.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    // Registered before the first await, so a flush() called right after send() waits for it too.
    const promise = this.enqueue(record);
    this.pending.add(promise);
    const forget = () => this.pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  private async enqueue(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.closed) throw new KafkaClientError('CLIENT_CLOSED', 'the producer was closed');
    this.txn?.assert(['in-transaction'], 'send');
    const { topic, messages } = record;
    if (messages.length === 0) return [];
    while (this.bufferedBytes > this.maxBuffered) await new Promise<void>((r) => this.spaceWaiters.push(r));
    const meta = this.cluster.topics.get(topic) ?? (await this.loadTopic(topic));
    const numPartitions = meta.partitions.length;
    const now = Date.now();
    let resolve!: (r: RecordMetadata[]) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<RecordMetadata[]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const op: SendOp = { results: new Array(messages.length), remaining: messages.length, done: false, resolve, reject };
    for (const m of messages) {
      if (m.partition !== undefined && !(Number.isInteger(m.partition) && m.partition >= 0 && m.partition < numPartitions)) {
        throw new KafkaClientError('INVALID_ARGUMENT', `topic ${topic} has no partition ${m.partition} (it has ${numPartitions})`, { topic, partition: m.partition });
      }
    }
    const sticky = this.options.partitioner === 'sticky';
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      let partition: number;
      if (m.partition !== undefined) {
        partition = m.partition;
      } else if (m.key !== null && m.key !== undefined) {
        partition = partitionForKey(typeof m.key === 'string' ? Buffer.from(m.key) : m.key, numPartitions);
      } else if (sticky) {
        partition = this.stickyPartition(topic, numPartitions);
      } else {
        const next = this.roundRobin.get(topic) ?? Math.floor(Math.random() * numPartitions);
        this.roundRobin.set(topic, (next + 1) % numPartitions);
        partition = next % numPartitions;
      }
      const headers = toHeaderList(m.headers);
      let size = RECORD_OVERHEAD + bytesLength(m.key) + bytesLength(m.value);
      if (headers) for (const h of headers) size += h.key.length + bytesLength(h.value) + 4;
      this.append(topic, partition, { key: m.key ?? null, value: m.value, headers, timestamp: m.timestamp ?? now }, size, op, i, now);
    }
    this.scheduleDrain();
    return promise;
  }

  /** Sends everything buffered now, without waiting for lingerMs, and waits until it is acknowledged. */
  async flush(): Promise<void> {
    this.forceSend++;
    try {
      this.scheduleDrain();
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    } finally {
      this.forceSend--;
    }
  }

  /** Flushes, then closes the connections; send() afterwards fails with CLIENT_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      await this.cluster.close();
    }
  }

  /** Concurrent first sends to a topic share one metadata lookup. */
  private loadTopic(topic: string): Promise<TopicMetadata> {
    let p = this.topicLoads.get(topic);
    if (!p) {
      p = this.cluster.topic(topic, { autoCreate: this.options.allowAutoTopicCreation ?? true }).finally(() => this.topicLoads.delete(topic));
      this.topicLoads.set(topic, p);
    }
    return p;
  }

  private stickyPartition(topic: string, numPartitions: number): number {
    // Sticky (KIP-480): stay on one partition until its open batch fills, then move on.
    let p = this.roundRobin.get(topic);
    if (p === undefined || p >= numPartitions) p = Math.floor(Math.random() * numPartitions);
    const q = this.queues.get(`${topic}\0${p}`);
    const open = q?.[q.length - 1];
    if (open?.full) p = (p + 1) % numPartitions;
    this.roundRobin.set(topic, p);
    return p;
  }

  private append(topic: string, partition: number, rec: RecordInput, size: number, op: SendOp, index: number, now: number): void {
    const key = `${topic}\0${partition}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    let b = q[q.length - 1];
    if (!b || b.full || b.built !== null) {
      b = { topic, partition, records: [], ops: [], indexes: [], bytes: 0, createdAt: now, full: false, attempts: 0, retryAt: 0, built: null, builtEpoch: -1, lastError: null };
      q.push(b);
    }
    b.records.push(rec);
    b.ops.push(op);
    b.indexes.push(index);
    b.bytes += size;
    this.bufferedBytes += size;
    if (b.bytes >= this.batchSize) b.full = true;
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private scheduleAt(at: number): void {
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.drain();
    }, Math.max(0, at - Date.now()));
  }

  /** Sends every ready batch whose leader is known and has room for another request. */
  private drain(): void {
    if (this.cluster.isClosed) return;
    if (this.identity && (!this.identity.ready || this.identity.initializing)) {
      this.initIdentity();
      return;
    }
    const now = Date.now();
    const ready = new Map<number, PendingBatch[][]>(); // broker -> per-partition queues of ready batches
    const unknownLeader = new Set<string>();
    let wakeAt = Infinity;
    for (const [key, q] of this.queues) {
      // Batches past their delivery timeout fail here, while they are not in flight.
      while (q.length > 0 && now - q[0]!.createdAt > this.deliveryTimeoutMs) {
        const b = q.shift()!;
        this.fail(b, b.lastError instanceof Error ? b.lastError : new KafkaClientError('RETRIES_EXHAUSTED', `records for ${b.topic}-${b.partition} not acknowledged within ${this.deliveryTimeoutMs} ms`, { topic: b.topic, partition: b.partition }));
      }
      if (q.length === 0) {
        this.queues.delete(key);
        continue;
      }
      if (this.busy.has(key)) continue;
      const head = q[0]!;
      const readyAt = Math.max(head.retryAt, head.full || this.forceSend > 0 || this.closed ? 0 : head.createdAt + this.lingerMs);
      if (readyAt > now) {
        wakeAt = Math.min(wakeAt, readyAt);
        continue;
      }
      const leader = this.cluster.topics.get(head.topic)?.partitions[head.partition]?.leader ?? -1;
      if (leader < 0 || !this.cluster.brokers.has(leader)) {
        unknownLeader.add(head.topic);
        continue;
      }
      let perBroker = ready.get(leader);
      if (!perBroker) ready.set(leader, (perBroker = []));
      perBroker.push(q);
    }
    for (const [broker, queues] of ready) {
      while ((this.inFlight.get(broker) ?? 0) < this.maxInFlight) {
        const batches: PendingBatch[] = [];
        for (const q of queues) {
          const head = q[0];
          if (!head) continue;
          const key = `${head.topic}\0${head.partition}`;
          if (this.identity && this.busy.has(key)) continue;
          const readyNow = head.retryAt <= now && (head.full || this.forceSend > 0 || this.closed || head.createdAt + this.lingerMs <= now);
          if (readyNow && this.txn && !this.txn.isAdded(head.topic, head.partition)) {
            this.addToTransaction(head.topic, head.partition);
            continue;
          }
          if (readyNow) {
            batches.push(q.shift()!);
            if (this.identity) this.busy.add(key);
          }
        }
        if (batches.length === 0) break;
        this.sendRequest(broker, batches);
      }
    }
    if (unknownLeader.size > 0) this.refreshLeaders([...unknownLeader]);
    if (wakeAt < Infinity) this.scheduleAt(wakeAt);
  }

  /** Gets (or bumps) the producer id before anything is sent; a failure fails every buffered record. */
  private initIdentity(): void {
    const identity = this.identity!;
    if (identity.initializing) return;
    identity.init().then(
      () => this.scheduleDrain(),
      (err: Error) => {
        for (const [key, q] of this.queues) {
          this.queues.delete(key);
          for (const b of q) this.fail(b, err);
        }
      },
    );
  }

  /** A partition joins the open transaction before its first batch; a failure fails its buffered records. */
  private addToTransaction(topic: string, partition: number): void {
    const txn = this.txn!;
    txn.addPartition(topic, partition).then(
      () => this.scheduleDrain(),
      (err: Error) => {
        const key = `${topic}\0${partition}`;
        const q = this.queues.get(key);
        this.queues.delete(key);
        for (const b of q ?? []) this.fail(b, txn.failure(err));
      },
    );
  }

  /** Transactional producer: gets the producer id and epoch from the transactional id's coordinator. */
  async initTransactions(): Promise<void> {
    if (!this.txn) throw new KafkaClientError('INVALID_ARGUMENT', 'initTransactions needs a transactionalId');
    await this.txn.init();
  }

  beginTransaction(): void {
    if (!this.txn) throw new KafkaClientError('INVALID_ARGUMENT', 'beginTransaction needs a transactionalId');
    this.txn.begin();
  }

  /** Commits the group's offsets with the open transaction (consume-transform-produce). */
  async sendOffsets(groupId: string, offsets: OffsetToCommit[]): Promise<void> {
    if (!this.txn) throw new KafkaClientError('INVALID_ARGUMENT', 'sendOffsets needs a transactionalId');
    await this.txn.sendOffsets(groupId, offsets);
  }

  /** Flushes the transaction's records, then commits it: all of them become visible to read_committed consumers. */
  async commitTransaction(): Promise<void> {
    if (!this.txn) throw new KafkaClientError('INVALID_ARGUMENT', 'commitTransaction needs a transactionalId');
    this.txn.assert(['in-transaction'], 'commitTransaction');
    await this.flush();
    await this.txn.end(true);
  }

  /** Aborts the open transaction: none of its records is ever visible to read_committed consumers. */
  async abortTransaction(): Promise<void> {
    if (!this.txn) throw new KafkaClientError('INVALID_ARGUMENT', 'abortTransaction needs a transactionalId');
    this.txn.assert(['in-transaction'], 'abortTransaction');
    await Promise.allSettled([...this.pending]);
    await this.txn.end(false);
  }

  private refreshLeaders(topics: string[]): void {
    const todo = topics.filter((t) => !this.refreshing.has(t));
    if (todo.length === 0) return;
    for (const t of todo) this.refreshing.add(t);
    this.cluster
      .refreshTopics(todo, this.options.allowAutoTopicCreation ?? true)
      .then(
        () => undefined,
        (err) => {
          for (const q of this.queues.values()) if (q[0] && todo.includes(q[0].topic)) q[0].lastError = err;
          return this.cluster.backoff(2);
        },
      )
      .finally(() => {
        for (const t of todo) this.refreshing.delete(t);
        // A partition that still has no leader waits a backoff before the next refresh.
        const stillUnknown = todo.some((t) => {
          const m = this.cluster.topics.get(t);
          return !m || m.partitions.some((p) => p.leader < 0);
        });
        if (stillUnknown) this.scheduleAt(Date.now() + this.cluster.retryOptions.initialBackoffMs);
        else this.scheduleDrain();
      });
  }

  private sendRequest(broker: number, batches: PendingBatch[]): void {
    this.inFlight.set(broker, (this.inFlight.get(broker) ?? 0) + 1);
    const compression = this.options.compression ?? 'none';
    const byTopic = new Map<string, Array<{ index: number; records: Buffer }>>();
    for (const b of batches) {
      const identity = this.identity;
      if (identity && b.built !== null && b.builtEpoch !== identity.epoch) b.built = null; // the epoch was bumped: new sequence
      if (identity && b.built === null) {
        b.builtEpoch = identity.epoch;
        b.built = buildRecordBatch({
          records: b.records, compression, timestamp: b.records[0]!.timestamp,
          producerId: identity.producerId, producerEpoch: identity.epoch, baseSequence: identity.takeSequence(b.topic, b.partition, b.records.length),
          isTransactional: this.txn !== null,
        });
      }
      b.built ??= buildRecordBatch({ records: b.records, compression, timestamp: b.records[0]!.timestamp });
      let list = byTopic.get(b.topic);
      if (!list) byTopic.set(b.topic, (list = []));
      list.push({ index: b.partition, records: b.built });
    }
    const body = (_v: number) => ({
      transactionalId: this.txn?.transactionalId ?? null,
      acks: this.acks,
      timeoutMs: this.options.timeoutMs ?? 30_000,
      topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
    });
    const done = (): void => {
      this.inFlight.set(broker, (this.inFlight.get(broker) ?? 1) - 1);
      this.scheduleDrain();
    };
    (async () => {
      const nc = await this.cluster.nodeConnection(broker);
      if (this.acks === 0) {
        const version = this.cluster.pickVersion(nc, ApiKey.Produce);
        await nc.conn.sendOnly(ApiKey.Produce, version, body(version));
        return null;
      }
      const timeout = (this.options.timeoutMs ?? 30_000) + 10_000;
      return (await this.cluster.send(nc, ApiKey.Produce, body, timeout)).body;
    })().then(
      (res) => {
        this.onResponse(broker, batches, res);
        done();
      },
      (err) => {
        if (err instanceof ConnectionError) this.cluster.dropConnection(broker);
        for (const b of batches) {
          this.busy.delete(`${b.topic}\0${b.partition}`);
          this.retryOrFail(b, err);
        }
        done();
      },
    );
  }

  private onResponse(broker: number, batches: PendingBatch[], res: ProduceResponse | null): void {
    for (const b of batches) {
      this.busy.delete(`${b.topic}\0${b.partition}`);
      if (res === null) {
        this.complete(b, -1n);
        continue;
      }
      const p = res.responses.find((t) => t.name === b.topic)?.partitionResponses.find((x) => x.index === b.partition);
      if (!p) {
        this.retryOrFail(b, new KafkaProtocolError(-1, { topic: b.topic, partition: b.partition, broker, message: 'the Produce response left this partition out' }));
      } else if (p.errorCode !== 0) {
        this.retryOrFail(b, new KafkaProtocolError(p.errorCode, { topic: b.topic, partition: b.partition, broker, message: p.errorMessage }));
      } else {
        this.complete(b, p.baseOffset);
      }
    }
  }

  private complete(b: PendingBatch, baseOffset: bigint): void {
    this.release(b);
    const { topic, partition } = b;
    for (let i = 0; i < b.records.length; i++) {
      const op = b.ops[i]!;
      if (op.done) continue;
      op.results[b.indexes[i]!] = { topic, partition, offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i), timestamp: b.records[i]!.timestamp! };
      if (--op.remaining === 0) {
        op.done = true;
        op.resolve(op.results);
      }
    }
  }

  private retryOrFail(b: PendingBatch, err: unknown): void {
    b.lastError = err;
    b.attempts++;
    const expired = Date.now() - b.createdAt > this.deliveryTimeoutMs;
    const bump = this.identity !== null && needsEpochBump(err);
    if (bump && this.identity!.epoch === b.builtEpoch) {
      // The partition lost track of this producer's sequence: a new epoch starts every partition at 0.
      this.identity!.init(true).then(() => this.scheduleDrain(), () => this.scheduleDrain());
    }
    if ((!isRetriable(err) && !bump) || this.cluster.isClosed || b.attempts > this.cluster.retryOptions.retries || expired) {
      this.fail(b, this.txn ? this.txn.failure(err as Error) : (err as Error));
      return;
    }
    // Leadership may have moved: forget the topic's leaders so drain() refreshes before resending.
    const meta = this.cluster.topics.get(b.topic);
    if (meta) for (const p of meta.partitions) if (p.partition === b.partition) p.leader = -1;
    const { initialBackoffMs, maxBackoffMs } = this.cluster.retryOptions;
    b.retryAt = Date.now() + Math.min(maxBackoffMs, initialBackoffMs * 2 ** (b.attempts - 1));
    const key = `${b.topic}\0${b.partition}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = []));
    q.unshift(b);
    this.scheduleAt(b.retryAt);
  }

  private fail(b: PendingBatch, err: Error): void {
    this.release(b);
    for (const op of b.ops) {
      if (op.done) continue;
      op.done = true;
      op.reject(err);
    }
  }

  private release(b: PendingBatch): void {
    this.bufferedBytes -= b.bytes;
    if (this.bufferedBytes <= this.maxBuffered && this.spaceWaiters.length > 0) {
      const waiters = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of waiters) w();
    }
  }
}
