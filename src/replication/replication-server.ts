// The leader side of replication on one broker: one subscription on `replicaFetch(brokerId)` answering
// every follower broker's fetches for all the partitions this broker leads (Kafka's follower Fetch path in
// ReplicaManager.fetchMessages).
//
// A request is answered at once when any of its partitions has records, an error or a divergence; else it
// is held (long poll, Kafka's DelayedFetch) until one of those partitions grows or maxWaitMs passes. A
// newer high watermark is news too (Kafka's DelayedFetch case for KIP-392), but it waits a few
// milliseconds for data to travel with it, so a busy partition does not pay an extra round trip per batch.
// The answer carries only the partitions with something new (as Kafka's incremental fetch sessions,
// KIP-227): an idle follower's round costs a few bytes, not one entry per partition. The follower can wake
// its held request (`wakeSubjectOf`) when it starts following another partition here. A held request does
// not register with each of its partitions (an idle round would leave thousands of waiters to collect): a
// partition's news names its replica list, which says whose requests can carry it (`news`). An idle
// follower sends the same bytes every round, so its last request is kept decoded. The first pass over
// a request records each follower's position (its log end offset), which is what moves the high watermark
// and the ISR. Responses stay within a byte budget under NATS max_payload, always with at least one batch,
// and the partition served first rotates so a busy partition cannot starve the others.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Logger } from '../util/logger.ts';
import { decodeFetchRequest, encodeFetchResponse, type ReplicaFetchPartition, type ReplicaFetchPartitionResponse, type ReplicaFetchRequest } from './replication-codec.ts';
import type { Transport } from '../runtime/transport.ts';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import { maxBatchBytes } from './max-batch-bytes.ts';
import { wakeSubjectOf } from './replica-fetcher.ts';

/** What the server needs of a partition replica this broker hosts (PartitionReplica implements it). */
export interface LeaderTarget {
  /** The partition's answer, or null when it has nothing new for this follower (no records, error or newer high
   *  watermark). Records within maxBytes; with minOneBatch (the response's first records) at least one batch. */
  serveReplicaFetch(replicaId: number, incarnation: string, p: ReplicaFetchPartition, maxBytes: number, record: boolean, minOneBatch: boolean): ReplicaFetchPartitionResponse | null | Promise<ReplicaFetchPartitionResponse | null>;
  /**
   * A fetch of this partition was held until now and nothing happened meanwhile: the follower stayed where it was
   * (the second pass's recordHeld, without reading the partition again). Absent: the whole second pass runs.
   */
  heldUntilNow?(replicaId: number, p: ReplicaFetchPartition): void;
}

/**
 * What a partition this broker leads tells the server: it has new data (grew, or stopped leading), a newer high
 * watermark, or its leadership started (answers that said it was not led here yet are stale).
 */
export type LeaderNews = 'data' | 'highWatermark' | 'leading';

/**
 * How long a held request waits after a partition's leadership started before it is answered (others starting
 * meanwhile share the answer): while thousands of partitions are created, or a broker's leaderships move, one
 * answer per start would be a pass over all of a follower's partitions per partition.
 */
const LEADING_DELAY_MS = 100;

/** A request held for news (Kafka's DelayedFetch). */
/** Why a held request was answered. */
type HeldEnd = 'news' | 'wake' | 'timeout';

interface Held {
  replicaId: number;
  /** Answers it now. */
  release(why: HeldEnd): void;
  /** Answers it `ms` from now, unless something else does first. */
  soon(ms: number): void;
}

export interface ReplicationServerOptions {
  brokerId: number;
  transport: Transport;
  /** Held fetches' timers; wake times are monotonic. */
  clock: Clock;
  subject: string;
  lookup: (topic: string, partition: number) => LeaderTarget | undefined;
  /** Moves whenever what lookup finds may have changed (absent: looked up on every read). */
  lookupVersion?: () => number | undefined;
  /** Hard cap of a response's records, whatever the follower asks (4 MB: half the 8 MB NATS max_payload we
   *  run with; never more than half the transport's maxPayload). */
  maxResponseBytes: number;
  /** Per-partition cap (replica.fetch.max.bytes). */
  partitionMaxBytes: number;
  /** Upper bound on how long a fetch is held, whatever the follower asks. */
  maxWaitCapMs: number;
  /** How long an answer whose only news is a newer high watermark waits for records to go with it. */
  highWatermarkDelayMs?: number;
  logger: Logger;
}

interface ReadPass {
  /** The partitions with something new for the follower. */
  results: ReplicaFetchPartitionResponse[];
  /** Some partition has records, an error or a divergence: answer now. */
  urgent: boolean;
  /** Some partition has news for the follower other than not being led here yet (notLedYet). */
  news: boolean;
}

/**
 * An answer saying this broker does not lead the partition in the follower's epoch yet: not created here yet,
 * not made leader yet, or told of the epoch after the follower. It waits with the rest of the request for news
 * (the partition's leadership starting is news: PartitionReplica.onLeading), where other errors answer at once:
 * while thousands of partitions were created, the followers learned of most before their leaders had opened
 * them, and each such error answered a request at once, so every round trip was a pass over all of a
 * follower's partitions.
 */
const notLedYet = (r: ReplicaFetchPartitionResponse) =>
  (r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || r.errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH) && r.records.length === 0 && r.divergingEpoch === undefined;

const EMPTY = Buffer.alloc(0);
const WAKE_MEMORY_MS = 1_000;

export class ReplicationServer {
  private sub: { stop(): void } | null = null;
  private wakeSub: { stop(): void } | null = null;
  private rotation = 0;
  private readonly held = new Set<Held>();
  /** News per follower broker since this server started (news()), so a request being read cannot miss it. */
  private readonly newsCount = new Map<number, Record<LeaderNews, number>>();
  /** Each follower's last request, as bytes and decoded. */
  private readonly lastRequests = new Map<number, { bytes: Buffer; req: ReplicaFetchRequest }>();
  /** The targets of a decoded request's partitions, as of a lookup version (an idle follower repeats its request). */
  private readonly targets = new WeakMap<ReplicaFetchRequest, { version: number; targets: Array<LeaderTarget | undefined> }>();
  /** Wakes that found no held request: follower → when. */
  private readonly unheldWakes = new Map<number, number>();
  /** Requests answered (tests and metrics). */
  served = 0;

  constructor(private readonly opts: ReplicationServerOptions) {}

  start(): void {
    this.sub ??= this.opts.transport.serve(this.opts.subject, (payload) => this.handle(payload));
    this.wakeSub ??= this.opts.transport.subscribe(wakeSubjectOf(this.opts.subject), (payload) => {
      if (payload.length >= 4) this.wake(payload.readInt32BE(0));
    });
  }

  stop(): void {
    this.sub?.stop();
    this.sub = null;
    this.wakeSub?.stop();
    this.wakeSub = null;
    for (const h of [...this.held]) h.release('news');
  }

  /** Requests held now (tests, metrics). */
  get heldCount(): number {
    return this.held.size;
  }

  /**
   * News from a partition this broker leads whose replicas are `replicas`: 'data' answers the requests held
   * for those followers now, 'highWatermark' after highWatermarkDelayMs. A follower whose request does not
   * carry the partition yet (it is still opening its log) gets an answer without it and asks again.
   */
  news(replicas: readonly number[], kind: LeaderNews): void {
    // Counted whether or not a request is held: one being read now must not miss it (handle()).
    for (const id of replicas) {
      let n = this.newsCount.get(id);
      if (!n) this.newsCount.set(id, (n = { data: 0, highWatermark: 0, leading: 0 }));
      n[kind]++;
    }
    if (this.held.size === 0) return;
    for (const h of this.held) {
      if (!replicas.includes(h.replicaId)) continue;
      if (kind === 'data') h.release('news');
      else h.soon(kind === 'leading' ? LEADING_DELAY_MS : this.highWatermarkDelayMs);
    }
  }

  /**
   * Answers the requests held for follower `replicaId` now (it follows more partitions here than they carry).
   * A wake that finds none held may have overtaken the request it was meant for: the follower's next request
   * within WAKE_MEMORY_MS is then answered without waiting.
   */
  wake(replicaId: number): void {
    let released = false;
    for (const h of this.held) {
      if (h.replicaId !== replicaId) continue;
      h.release('wake');
      released = true;
    }
    if (!released) this.unheldWakes.set(replicaId, this.opts.clock.monotonic());
  }

  async handle(payload: Buffer): Promise<Uint8Array> {
    let req: ReplicaFetchRequest;
    try {
      req = this.decode(payload);
    } catch (err) {
      this.opts.logger.error('malformed replica fetch request', { error: err as Error });
      return encodeFetchResponse({ partitions: [] });
    }
    // News that comes while the partitions are read (an append, a high watermark moving) finds no held request
    // to answer: counted here, it shortens or skips the wait instead of being lost for up to maxWaitMs.
    const start = this.newsOf(req.replicaId);
    const first = await this.readAll(req, true);
    let results = first.results;
    const wait = Math.min(Math.max(req.maxWaitMs, 0), this.opts.maxWaitCapMs);
    const wokenAt = this.unheldWakes.get(req.replicaId);
    if (wokenAt !== undefined) this.unheldWakes.delete(req.replicaId);
    const woken = wokenAt !== undefined && this.opts.clock.monotonic() - wokenAt < WAKE_MEMORY_MS;
    const missed = this.newsSince(req.replicaId, start);
    if (wait > 0 && this.sub && !first.urgent && !woken && !missed.data) {
      const held = await this.waitForData(req, first.news || missed.highWatermark ? Math.min(wait, this.highWatermarkDelayMs) : missed.leading ? Math.min(wait, LEADING_DELAY_MS) : wait);
      // The counts only grow: no news since the start is none during the pass either.
      const since = this.newsSince(req.replicaId, start);
      const quiet = !first.news && !since.data && !since.highWatermark && !since.leading;
      // Woken because the follower follows more partitions here: it asks again at once with all of them, so the
      // first pass's answer goes (a second pass over thousands of partitions, per batch of partitions created,
      // was a large part of the leaders' CPU while 10,000 partitions were created). Held to the end with no news:
      // nothing to read again, only each follower's position to keep as caught up until now.
      if (held === 'wake' && quiet) results = first.results;
      else if (held === 'timeout' && quiet && this.heldUntilNow(req)) results = first.results;
      else results = (await this.readAll(req, false)).results;
    }
    this.served++;
    return encodeFetchResponse({ partitions: results });
  }

  /** How long an answer whose only news is a newer high watermark waits for records to go with it. */
  private get highWatermarkDelayMs(): number {
    return this.opts.highWatermarkDelayMs ?? 10;
  }

  /** The news counted for follower `replicaId` so far, by kind. */
  private newsOf(replicaId: number): Record<LeaderNews, number> {
    const n = this.newsCount.get(replicaId);
    return { data: n?.data ?? 0, highWatermark: n?.highWatermark ?? 0, leading: n?.leading ?? 0 };
  }

  /** Which kinds of news came for follower `replicaId` since its counts were `start`. */
  private newsSince(replicaId: number, start: Record<LeaderNews, number>): Record<LeaderNews, boolean> {
    const now = this.newsOf(replicaId);
    return { data: now.data !== start.data, highWatermark: now.highWatermark !== start.highWatermark, leading: now.leading !== start.leading };
  }

  /** Decodes a request, or reuses its follower's last one when the bytes are the same (an idle round). */
  private decode(payload: Buffer): ReplicaFetchRequest {
    for (const last of this.lastRequests.values()) if (last.bytes.equals(payload)) return last.req;
    const req = decodeFetchRequest(payload);
    this.lastRequests.set(req.replicaId, { bytes: Buffer.from(payload), req });
    return req;
  }

  private async readAll(req: ReplicaFetchRequest, record: boolean): Promise<ReadPass> {
    const n = req.partitions.length;
    const results: Array<ReplicaFetchPartitionResponse | undefined> = new Array(n);
    // Never more than one message carries (maxBatchBytes: half the transport's max_payload).
    const maxBatch = maxBatchBytes(this.opts.transport);
    let budget = Math.min(Math.max(req.maxBytes, 1), this.opts.maxResponseBytes, maxBatch);
    let bytes = 0;
    const start = n === 0 ? 0 : this.rotation++ % n;
    const targets = this.targetsOf(req);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const p = req.partitions[i]!;
      const target = targets[i];
      if (!target) {
        results[i] = { topic: p.topic, partition: p.partition, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1, logStartOffset: -1, leaderEpoch: -1, records: EMPTY };
        continue;
      }
      const limit = Math.min(this.opts.partitionMaxBytes, budget);
      let r: ReplicaFetchPartitionResponse | null;
      try {
        // Most partitions of an idle round answer synchronously with null: no promise, no object.
        const served = target.serveReplicaFetch(req.replicaId, req.incarnation, p, limit, record, bytes === 0);
        r = served instanceof Promise ? await served : served;
      } catch (err) {
        this.opts.logger.error('serving a replica fetch failed', { topic: p.topic, partition: p.partition, replica: req.replicaId, error: err as Error });
        r = { topic: p.topic, partition: p.partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, highWatermark: -1, logStartOffset: -1, leaderEpoch: -1, records: EMPTY };
      }
      if (r === null) continue;
      // A first batch this large cannot travel in one message (written before max_payload shrank): the
      // follower is told so, and backs off, instead of the whole response failing.
      if (r.records.length > maxBatch) {
        this.opts.logger.error('a batch is larger than replication over NATS carries; the follower cannot fetch it', { topic: p.topic, partition: p.partition, replica: req.replicaId, bytes: r.records.length, maxBatchBytes: maxBatch });
        r = { ...r, errorCode: ErrorCode.MESSAGE_TOO_LARGE, records: EMPTY };
      }
      // The first batch may exceed the budget (so one huge batch never blocks a follower); later ones may not, and
      // are not read (minOneBatch false: a partition's first batch too large for what is left stays on disk).
      if (r.records.length > 0 && bytes > 0 && r.records.length > budget) r = { ...r, records: EMPTY };
      bytes += r.records.length;
      budget = Math.max(0, budget - r.records.length);
      results[i] = r;
    }
    const out: ReplicaFetchPartitionResponse[] = [];
    let urgent = false;
    let news = false;
    for (let i = 0; i < n; i++) {
      const r = results[i];
      if (r === undefined) continue;
      if (notLedYet(r)) {
        out.push(r);
        continue;
      }
      // A log start the follower has not reached yet (DeleteRecords) is news a DeleteRecords request waits on.
      const u = r.errorCode !== ErrorCode.NONE || r.records.length > 0 || r.divergingEpoch !== undefined || r.logStartOffset > req.partitions[i]!.logStartOffset;
      urgent ||= u;
      if (u || r.highWatermark > req.partitions[i]!.highWatermark) {
        out.push(r);
        news = true;
      }
    }
    return { results: out, urgent, news };
  }

  /** The replicas a request's partitions name, looked up again only when replicas came or went since. */
  private targetsOf(req: ReplicaFetchRequest): Array<LeaderTarget | undefined> {
    const version = this.opts.lookupVersion?.();
    const cached = this.targets.get(req);
    if (version !== undefined && cached?.version === version) return cached.targets;
    const targets = req.partitions.map((p) => this.opts.lookup(p.topic, p.partition));
    if (version !== undefined) this.targets.set(req, { version, targets });
    return targets;
  }

  /** Tells every target of a quiet held request that it was held until now; false if some target cannot. */
  private heldUntilNow(req: ReplicaFetchRequest): boolean {
    const targets = this.targetsOf(req);
    if (!targets.every((t) => t === undefined || t.heldUntilNow)) return false;
    for (let i = 0; i < targets.length; i++) targets[i]?.heldUntilNow!(req.replicaId, req.partitions[i]!);
    return true;
  }

  /** Holds the request until news for its follower (`news`, `wake`), `ms` passes, or a while after a high watermark moved or a leadership started (soon()). */
  private waitForData(req: ReplicaFetchRequest, ms: number): Promise<HeldEnd> {
    return new Promise((resolve) => {
      const clock = this.opts.clock;
      let soonTimer: TimerHandle | null = null;
      let soonAt = Infinity;
      const held: Held = {
        replicaId: req.replicaId,
        release: (why) => {
          if (!this.held.delete(held)) return;
          clock.clearTimeout(timer);
          if (soonTimer !== null) clock.clearTimeout(soonTimer);
          resolve(why);
        },
        soon: (delayMs) => {
          const at = clock.monotonic() + delayMs;
          if (at >= soonAt) return;
          if (soonTimer !== null) clock.clearTimeout(soonTimer);
          soonAt = at;
          soonTimer = clock.setTimeout(() => held.release('news'), delayMs);
        },
      };
      const timer = clock.setTimeout(() => held.release('timeout'), ms);
      this.held.add(held);
    });
  }
}
