// Kastor's consumer with manually assigned partitions: `for await (const batch of consumer)` yields, per
// partition, up to SLICE_RECORDS records of one Fetch answer, fetched from each partition's leader (one
// long-polling Fetch per broker; the next one goes out as soon as an answer arrives, its offsets read from the
// batch headers, while up to PREFETCH_BATCHES answers per partition wait). Records are decoded as they are taken,
// and between slices the event loop reads the answer on its way.
//
// Positions: each partition has the offset of the next record to yield. A start offset ('earliest', 'latest',
// an offset, or { timestamp }) is resolved through ListOffsets before the first fetch; OFFSET_OUT_OF_RANGE
// resets per autoOffsetReset (Kafka's auto.offset.reset) or, with 'none', ends the iteration with the error.
// seek() drops what was fetched for the partition; pause() keeps it but stops yielding and fetching.
//
// Consumer groups land separately: a group membership layer will sit on top of this class and call assign()
// with the partitions the group gives this member, starting at the committed offsets, and read positions()
// to commit. Nothing here assumes who chooses the assignment.
import { ApiKey } from '../protocol/generated/api-keys.ts';
import type { FetchResponse } from '../protocol/generated/fetch.ts';
import type { KafkaRecordHeader } from '../protocol/record-batch-reader.ts';
import { FetchedRecords, nextFetchOffset } from './record-decoder.ts';
import { ClientFetchSession } from './fetch-session.ts';
import { Cluster, type ClusterOptions, type RetryOptions } from './cluster.ts';
import { ConnectionError, KafkaClientError, KafkaProtocolError, needsMetadataRefresh } from './errors.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, lookupOffsets } from './offset-lookup.ts';

/** Where to start: the log start, the end, an offset, or the first record at or after a time (ms). */
export type StartOffset = 'earliest' | 'latest' | bigint | number | { timestamp: number };

export interface ConsumerOptions {
  /** How long a Fetch waits for minBytes (default 500 ms). */
  maxWaitMs?: number;
  minBytes?: number;
  /** Per Fetch response (default 50 MiB). */
  maxBytes?: number;
  /** Per partition in one Fetch (default 1 MiB, Kafka's max.partition.fetch.bytes): smaller batches die young, which keeps GC cheap. */
  maxPartitionBytes?: number;
  /** What to do when the position is outside the log (default 'latest', as Kafka). */
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  isolationLevel?: 'read_uncommitted' | 'read_committed';
  /**
   * Fetch sessions (KIP-227, default true): after the first fetch from a broker, later ones carry only the
   * partitions whose position moved and are answered only the partitions with news (fetch-session.ts).
   */
  fetchSessions?: boolean;
  retry?: RetryOptions;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface Assignment extends TopicPartition {
  /** Start here (default: autoOffsetReset, or 'earliest' when that is 'none'). */
  offset?: StartOffset;
}

export interface ConsumerRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaRecordHeader[];
  timestamp: number;
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  records: ConsumerRecord[];
  highWatermark: bigint;
}

interface PartitionState extends TopicPartition {
  key: string;
  start: StartOffset | null;
  position: bigint | null;
  fetchOffset: bigint | null;
  paused: boolean;
  generation: number;
  fetching: boolean;
  buffered: number;
  highWatermark: bigint;
  retryAt: number;
}

interface Buffered {
  state: PartitionState;
  generation: number;
  /** The partition's records from one Fetch answer, decoded slice by slice as they are taken. */
  fetched: FetchedRecords;
  highWatermark: bigint;
}

const keyOf = (topic: string, partition: number) => `${topic}\0${partition}`;
const PREFETCH_BATCHES = 2;
/** Records decoded at a time from a buffered answer: a slice holds this many (it may end inside a Kafka batch), or the rest. */
const SLICE_RECORDS = 1_000;

export class Consumer implements AsyncIterable<ConsumerBatch> {
  readonly cluster: Cluster;
  private readonly states = new Map<string, PartitionState>();
  private readonly buffer: Buffered[] = [];
  private readonly fetchingBrokers = new Set<number>();
  /** Per broker: its fetch session (one fetch out per broker at a time). */
  private readonly sessions = new Map<number, ClientFetchSession>();
  private failure: Error | null = null;
  private closed = false;
  private wake: () => void = () => {};
  private resolving: Promise<void> | null = null;

  constructor(
    clusterOptions: ClusterOptions,
    readonly options: ConsumerOptions = {},
  ) {
    this.cluster = new Cluster({ ...clusterOptions, retry: options.retry ?? clusterOptions.retry });
  }

  /** Replaces the assignment. Partitions kept from before keep their position unless given an offset. */
  assign(partitions: Assignment[]): void {
    const next = new Map<string, PartitionState>();
    for (const a of partitions) {
      const key = keyOf(a.topic, a.partition);
      const old = this.states.get(key);
      if (old && a.offset === undefined) {
        next.set(key, old);
        continue;
      }
      const state: PartitionState = old ?? { topic: a.topic, partition: a.partition, key, start: null, position: null, fetchOffset: null, paused: false, generation: 0, fetching: false, buffered: 0, highWatermark: -1n, retryAt: 0 };
      this.reposition(state, a.offset ?? this.defaultStart());
      next.set(key, state);
    }
    for (const [key, s] of this.states) if (!next.has(key)) s.generation++;
    this.states.clear();
    for (const [k, s] of next) this.states.set(k, s);
    this.wake();
  }

  assignment(): TopicPartition[] {
    return [...this.states.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Moves an assigned partition's position; records fetched before are dropped. */
  seek(target: TopicPartition & { offset: StartOffset }): void {
    const s = this.stateOf(target);
    this.reposition(s, target.offset);
    this.wake();
  }

  /** The offset of the next record the iterator yields for a partition (null until resolved). */
  position(tp: TopicPartition): bigint | null {
    return this.stateOf(tp).position;
  }

  /** Every assigned partition's position (what a group member commits). */
  positions(): Array<TopicPartition & { offset: bigint | null }> {
    return [...this.states.values()].map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position }));
  }

  /** Stops yielding and fetching the partitions (all of a topic when partition is left out). */
  pause(tps: Array<{ topic: string; partition?: number }>): void {
    for (const s of this.matching(tps)) s.paused = true;
  }

  resume(tps: Array<{ topic: string; partition?: number }>): void {
    for (const s of this.matching(tps)) s.paused = false;
    this.wake();
  }

  paused(): TopicPartition[] {
    return [...this.states.values()].filter((s) => s.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Ends the iteration (a pending next() resolves done) and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wake();
    await this.cluster.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerBatch> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /** The next batch of records, waiting for one; done once the consumer is closed. */
  async next(): Promise<IteratorResult<ConsumerBatch>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      if (this.failure) {
        const err = this.failure;
        this.failure = null;
        throw err;
      }
      const ready = this.takeBuffered();
      if (ready) {
        // Keep the next fetch going while the application works on this batch.
        this.pump();
        // A fetch answer on its way is read between slices (setImmediate lets the socket's data in), not only once
        // every buffered record is taken: a leader whose answer fills the socket's buffers waits until it is read.
        if (this.fetchingBrokers.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        return { done: false, value: ready };
      }
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      this.pump();
      await woken;
    }
  }

  private defaultStart(): StartOffset {
    const reset = this.options.autoOffsetReset ?? 'latest';
    return reset === 'none' ? 'earliest' : reset;
  }

  private reposition(s: PartitionState, offset: StartOffset): void {
    s.generation++;
    s.buffered = 0;
    s.fetching = false;
    s.retryAt = 0;
    if (typeof offset === 'number' || typeof offset === 'bigint') {
      const o = BigInt(offset);
      if (o < 0n) throw new KafkaClientError('INVALID_ARGUMENT', `offset must be >= 0, got ${o}`, s);
      s.start = null;
      s.position = o;
      s.fetchOffset = o;
    } else {
      s.start = offset;
      s.position = null;
      s.fetchOffset = null;
    }
    for (let i = this.buffer.length - 1; i >= 0; i--) if (this.buffer[i]!.state === s) this.buffer.splice(i, 1);
  }

  private stateOf(tp: TopicPartition): PartitionState {
    const s = this.states.get(keyOf(tp.topic, tp.partition));
    if (!s) throw new KafkaClientError('INVALID_ARGUMENT', `${tp.topic}-${tp.partition} is not assigned to this consumer`, tp);
    return s;
  }

  private matching(tps: Array<{ topic: string; partition?: number }>): PartitionState[] {
    return [...this.states.values()].filter((s) => tps.some((t) => t.topic === s.topic && (t.partition === undefined || t.partition === s.partition)));
  }

  /**
   * The next slice of the first buffered answer whose partition is not paused (null when there is none): its next
   * SLICE_RECORDS records, or the rest of the answer, decoded now (a slice may end inside a Kafka batch). The
   * partition's position moves past them. Records that do not decode throw CORRUPT_RECORDS and leave the partition there, as the Java
   * consumer's position stays at a corrupt record: fetching from it fails again until the application seeks past.
   */
  private takeBuffered(): ConsumerBatch | null {
    for (let i = 0; i < this.buffer.length; i++) {
      const b = this.buffer[i]!;
      const s = b.state;
      if (this.states.get(s.key) !== s || b.generation !== s.generation) {
        this.buffer.splice(i--, 1);
        continue;
      }
      if (s.paused) continue;
      const records: ConsumerRecord[] = [];
      try {
        b.fetched.decode(records, SLICE_RECORDS);
      } catch (cause) {
        const at = b.fetched.next;
        this.reposition(s, at);
        throw new KafkaClientError('CORRUPT_RECORDS', `records of ${s.topic}-${s.partition} at offset ${at} do not decode: ${(cause as Error).message}`, s, { cause });
      }
      if (b.fetched.done) {
        this.buffer.splice(i--, 1);
        s.buffered--;
      }
      s.position = b.fetched.next;
      if (records.length > 0) return { topic: s.topic, partition: s.partition, records, highWatermark: b.highWatermark };
    }
    return null;
  }

  /** Starts whatever work can start: resolving start offsets, and one Fetch per idle leader. */
  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    const unresolved = [...this.states.values()].filter((s) => s.start !== null);
    if (unresolved.length > 0 && !this.resolving) {
      this.resolving = this.resolveStarts(unresolved)
        .catch((err) => {
          if (!this.closed) this.failure = err as Error;
        })
        .finally(() => {
          this.resolving = null;
          this.wake();
        });
    }
    const byLeader = new Map<number, PartitionState[]>();
    let refresh = false;
    let wakeAt = Infinity;
    for (const s of this.states.values()) {
      // A fetch answer is prefetched per partition while the application handles the one before.
      if (s.paused || s.fetching || s.buffered >= PREFETCH_BATCHES || s.fetchOffset === null) continue;
      if (s.retryAt > now) {
        wakeAt = Math.min(wakeAt, s.retryAt);
        continue;
      }
      const leader = this.cluster.topics.get(s.topic)?.partitions[s.partition]?.leader ?? -1;
      if (leader < 0 || !this.cluster.brokers.has(leader)) {
        refresh = true;
        continue;
      }
      if (this.fetchingBrokers.has(leader)) continue;
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(s);
    }
    if (refresh) this.refreshLeaders();
    for (const [leader, list] of byLeader) this.fetchFrom(leader, list);
    if (wakeAt < this.wakeTimerAt) {
      if (this.wakeTimer) clearTimeout(this.wakeTimer);
      this.wakeTimerAt = wakeAt;
      this.wakeTimer = setTimeout(() => {
        this.wakeTimer = null;
        this.wakeTimerAt = Infinity;
        this.wake();
      }, wakeAt - now);
    }
  }

  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeTimerAt = Infinity;
  private refreshing = false;
  private refreshAttempts = 0;

  private refreshLeaders(): void {
    if (this.refreshing) return;
    this.refreshing = true;
    const topics = [...new Set([...this.states.values()].map((s) => s.topic))];
    const attempt = this.refreshAttempts;
    const delay = attempt === 0 ? Promise.resolve() : this.cluster.backoff(Math.min(attempt, 5));
    delay
      .then(() => this.cluster.refreshTopics(topics))
      .then(
        () => {
          const allLed = topics.every((t) => this.cluster.topics.get(t)?.partitions.every((p) => p.leader >= 0));
          this.refreshAttempts = allLed ? 0 : this.refreshAttempts + 1;
        },
        () => {
          this.refreshAttempts++;
        },
      )
      .finally(() => {
        this.refreshing = false;
        this.wake();
      });
  }

  private async resolveStarts(states: PartitionState[]): Promise<void> {
    const queries = states.map((s) => ({ s, generation: s.generation, timestamp: this.startTimestamp(s.start!) }));
    const answers = await lookupOffsets(this.cluster, queries.map((q) => ({ topic: q.s.topic, partition: q.s.partition, timestamp: q.timestamp })), this.isolation());
    const needLatest: PartitionState[] = [];
    answers.forEach((a, i) => {
      const { s, generation } = queries[i]!;
      if (s.generation !== generation || s.start === null) return;
      if (a.offset < 0n) {
        // No record at or after that time: start at the end, as Kafka's offsetsForTimes + seekToEnd.
        s.start = 'latest';
        needLatest.push(s);
        return;
      }
      s.start = null;
      s.position = a.offset;
      s.fetchOffset = a.offset;
    });
    if (needLatest.length > 0) await this.resolveStarts(needLatest);
  }

  private startTimestamp(start: StartOffset): bigint {
    if (start === 'earliest') return EARLIEST_TIMESTAMP;
    if (start === 'latest') return LATEST_TIMESTAMP;
    if (typeof start === 'object') return BigInt(start.timestamp);
    return BigInt(start);
  }

  private isolation(): number {
    return this.options.isolationLevel === 'read_committed' ? 1 : 0;
  }

  private fetchFrom(leader: number, list: PartitionState[]): void {
    this.fetchingBrokers.add(leader);
    const sent = list.map((s) => ({ s, generation: s.generation, offset: s.fetchOffset! }));
    for (const s of list) s.fetching = true;
    const maxWaitMs = this.options.maxWaitMs ?? 500;
    const partitionMaxBytes = this.options.maxPartitionBytes ?? 1024 * 1024;
    let session = this.sessions.get(leader);
    if (!session) this.sessions.set(leader, (session = new ClientFetchSession(this.options.fetchSessions ?? true)));
    const fetchSession = session;
    (async () => {
      const nc = await this.cluster.nodeConnection(leader);
      const { body } = await this.cluster.send(
        nc,
        ApiKey.Fetch,
        (v) => {
          // Below Fetch v7 there are no sessions: every fetch names every partition.
          const s = v >= 7 ? fetchSession.next(sent.map((e) => ({ topic: e.s.topic, partition: e.s.partition, fetchOffset: e.offset, partitionMaxBytes }))) : null;
          const send = s ? s.send : sent.map((e) => ({ topic: e.s.topic, partition: e.s.partition, fetchOffset: e.offset, partitionMaxBytes }));
          return {
            replicaId: -1,
            maxWaitMs,
            minBytes: this.options.minBytes ?? 1,
            maxBytes: this.options.maxBytes ?? 50 * 1024 * 1024,
            isolationLevel: this.isolation(),
            ...(s ? { sessionId: s.sessionId, sessionEpoch: s.sessionEpoch, forgottenTopicsData: byTopic(s.forget).map(([topic, ps]) => ({ topic, partitions: ps.map((p) => p.partition) })) } : {}),
            ...(v >= 11 ? { rackId: '' } : {}),
            topics: byTopic(send).map(([topic, ps]) => ({
              topic,
              partitions: ps.map((p) => ({
                partition: p.partition,
                ...(v >= 9 ? { currentLeaderEpoch: -1 } : {}),
                fetchOffset: p.fetchOffset,
                ...(v >= 12 ? { lastFetchedEpoch: -1 } : {}),
                ...(v >= 5 ? { logStartOffset: -1n } : {}),
                partitionMaxBytes: p.partitionMaxBytes,
              })),
            })),
          };
        },
        maxWaitMs + 30_000,
      );
      return body;
    })().then(
      (body) => {
        this.fetchingBrokers.delete(leader);
        for (const e of sent) e.s.fetching = false;
        fetchSession.answered(body.errorCode ?? 0, body.sessionId ?? 0);
        this.onFetch(leader, sent, body);
        this.pump();
        this.wake();
      },
      (err) => {
        this.fetchingBrokers.delete(leader);
        for (const e of sent) e.s.fetching = false;
        fetchSession.failed();
        if (this.closed) return this.wake();
        if (err instanceof ConnectionError || needsMetadataRefresh(err)) {
          this.cluster.dropConnection(leader);
          this.backOff(sent.map((e) => e.s), true);
        } else {
          this.failure = err as Error;
        }
        this.wake();
      },
    );
  }

  private backOff(states: PartitionState[], forgetLeader: boolean): void {
    const until = Date.now() + this.cluster.retryOptions.initialBackoffMs;
    for (const s of states) {
      s.retryAt = until;
      if (forgetLeader) {
        const p = this.cluster.topics.get(s.topic)?.partitions[s.partition];
        if (p) p.leader = -1;
      }
    }
  }

  private onFetch(leader: number, sent: Array<{ s: PartitionState; generation: number; offset: bigint }>, body: FetchResponse): void {
    if (body.errorCode) {
      const err = new KafkaProtocolError(body.errorCode, { broker: leader });
      if (err.retriable) this.backOff(sent.map((e) => e.s), needsMetadataRefresh(err));
      else this.failure = err;
      return;
    }
    for (const e of sent) {
      const { s } = e;
      if (s.generation !== e.generation || this.states.get(s.key) !== s) continue;
      const p = body.responses.find((t) => t.topic === s.topic)?.partitions.find((x) => x.partitionIndex === s.partition);
      if (!p) continue;
      if (p.errorCode !== 0) {
        this.onPartitionError(s, new KafkaProtocolError(p.errorCode, { topic: s.topic, partition: s.partition, broker: leader }));
        continue;
      }
      s.highWatermark = p.highWatermark;
      if (!p.records || p.records.length === 0) continue;
      // The next fetch starts after the answer's last whole batch, read from the batch headers: it goes out now
      // (pump, after this), and the records are decoded as the application takes them (takeBuffered), while the
      // leader reads and sends the next answer. Decoding a whole answer before the next fetch left the connection
      // idle for as long as decoding took.
      s.fetchOffset = nextFetchOffset(p.records, e.offset);
      s.buffered++;
      const aborted = this.isolation() === 1 ? (p.abortedTransactions ?? []) : undefined;
      this.buffer.push({ state: s, generation: s.generation, fetched: new FetchedRecords(p.records, e.offset, aborted), highWatermark: p.highWatermark });
    }
  }

  private onPartitionError(s: PartitionState, err: KafkaProtocolError): void {
    if (err.code === 1 /* OFFSET_OUT_OF_RANGE */) {
      const reset = this.options.autoOffsetReset ?? 'latest';
      if (reset === 'none') this.failure = err;
      else this.reposition(s, reset);
      return;
    }
    if (err.retriable) this.backOff([s], needsMetadataRefresh(err));
    else this.failure = err;
  }
}

/** Partitions grouped by topic, in the order the topics first appear. */
function byTopic<P extends { topic: string }>(ps: P[]): Array<[string, P[]]> {
  const m = new Map<string, P[]>();
  for (const p of ps) {
    let l = m.get(p.topic);
    if (!l) m.set(p.topic, (l = []));
    l.push(p);
  }
  return [...m];
}
