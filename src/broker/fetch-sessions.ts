// Fetch sessions (KIP-227): a consumer fetching many partitions from a broker sends them all once, then only
// what changed (a partition's fetch offset moved, one added, one forgotten), and the broker answers only the
// partitions with something to say (records, a new high watermark, last stable offset or log start, an
// error). An idle consumer of 1,000 partitions then costs a few bytes a round instead of 1,000 partitions
// both ways. Kafka's FetchSession.scala, as clients see it:
//
// - epoch -1 (FINAL): a sessionless full fetch; with a session id, that session is closed first.
// - epoch 0 (INITIAL): a full fetch that opens a new session (closing the one named); the answer carries its
//   id, or 0 when the cache has no room (the client then keeps sending full fetches).
// - epoch N > 0: an incremental fetch in session `id`; unknown id: FETCH_SESSION_ID_NOT_FOUND; an epoch other
//   than the one expected: INVALID_FETCH_SESSION_EPOCH; a session opened by topic id used by name or the other
//   way round: FETCH_SESSION_TOPIC_ID_ERROR. The client then starts over with a full fetch.
//
// A session belongs to the connection that opened it (another connection naming it gets
// FETCH_SESSION_ID_NOT_FOUND, which Kafka does not check: a guessed id must not read another principal's
// partitions). The cache holds at most `maxSessions` (max.incremental.fetch.session.cache.slots); a new one
// evicts the least recently used session idle for EVICTABLE_AFTER_MS, else gets no session.

import { ErrorCode } from '../protocol/generated/errors.ts';

/** Where a session's partition is read from, as the request last said it. */
export interface SessionPartition {
  /** The topic's name as requested (Fetch v12 and older) or '' (v13 names topics by id). */
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** What the last answer that carried the partition told the client; undefined before any. */
  sent?: { highWatermark: bigint; lastStableOffset: bigint; logStartOffset: bigint };
}

/** What a partition's answer says, compared with what the client was told last (FetchSession.answer). */
export interface PartitionNews {
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  preferredReadReplica: number;
  records: Buffer | null;
}

export class FetchSession {
  /** The epoch the next incremental fetch must carry. */
  epoch = 1;
  lastUsedMs: number;
  /** The partitions, in the order they are read (one that answered records moves to the end, for fairness). */
  readonly partitions = new Map<string, SessionPartition>();

  constructor(readonly id: number, readonly connectionId: number, readonly byTopicId: boolean, now: number) {
    this.lastUsedMs = now;
  }

  static key(p: { topic: string; topicId: string; partition: number }, byTopicId: boolean): string {
    return `${byTopicId ? p.topicId : p.topic}\u0000${p.partition}`;
  }

  /** Adds or updates `p` (an incremental request's partitions, a full request's all). */
  upsert(p: SessionPartition): void {
    const key = FetchSession.key(p, this.byTopicId);
    const had = this.partitions.get(key);
    this.partitions.set(key, { ...p, sent: had?.sent });
  }

  forget(p: { topic: string; topicId: string; partition: number }): void {
    this.partitions.delete(FetchSession.key(p, this.byTopicId));
  }

  /**
   * Whether an incremental answer carries this partition (Kafka's CachedPartition.maybeUpdateResponseData), and
   * if so remembers what the client is told; a partition that answered records goes to the back of the order.
   */
  answer(p: SessionPartition, news: PartitionNews, incremental: boolean): boolean {
    const hasRecords = news.records !== null && news.records.length > 0;
    const must = !incremental || hasRecords || news.errorCode !== ErrorCode.NONE || news.preferredReadReplica >= 0 || offsetsMoved(p, news);
    if (!must) return false;
    p.sent = { highWatermark: news.highWatermark, lastStableOffset: news.lastStableOffset, logStartOffset: news.logStartOffset };
    if (hasRecords) {
      const key = FetchSession.key(p, this.byTopicId);
      this.partitions.delete(key);
      this.partitions.set(key, p);
    }
    return true;
  }
}

/** Whether the client has not been told `news`'s high watermark, last stable offset or log start of `p` yet. */
export function offsetsMoved(p: SessionPartition, news: Pick<PartitionNews, 'highWatermark' | 'lastStableOffset' | 'logStartOffset'>): boolean {
  const sent = p.sent;
  return sent === undefined || news.highWatermark !== sent.highWatermark || news.lastStableOffset !== sent.lastStableOffset || news.logStartOffset !== sent.logStartOffset;
}

/** How a Fetch request is served (FetchSessionCache.context). */
export type FetchContext =
  | { kind: 'error'; errorCode: number }
  /** Every requested partition is read and answered; `session` (if any) was opened with them. */
  | { kind: 'full'; session: FetchSession | null }
  /** The session's partitions are read, and only those with news answered. */
  | { kind: 'incremental'; session: FetchSession };

/** A session idle this long may be evicted for a new one (Kafka's 2-minute minimum). */
export const EVICTABLE_AFTER_MS = 120_000;
/** Kafka's max.incremental.fetch.session.cache.slots default. */
export const DEFAULT_MAX_SESSIONS = 1_000;
const FINAL_EPOCH = -1;
const INITIAL_EPOCH = 0;

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  /** Sessions evicted since start (metrics). */
  evicted = 0;

  constructor(private readonly opts: { maxSessions?: number; now: () => number; randomId: () => number }) {}

  /** For /metrics: sessions open, the partitions they hold, sessions evicted since start. */
  stats(): { open: number; partitions: number; evicted: number } {
    let partitions = 0;
    for (const s of this.sessions.values()) partitions += s.partitions.size;
    return { open: this.sessions.size, partitions, evicted: this.evicted };
  }

  /**
   * How to serve a Fetch with `sessionId`/`epoch` whose request names `requested` and forgets `forgotten`, on
   * connection `connectionId`; `byTopicId` for Fetch v13+. Applies the request's changes to an incremental
   * session and advances its epoch.
   */
  context(req: { sessionId: number; epoch: number; byTopicId: boolean; connectionId: number; requested: SessionPartition[]; forgotten: Array<{ topic: string; topicId: string; partition: number }> }): FetchContext {
    const now = this.opts.now();
    if (req.epoch === FINAL_EPOCH || req.epoch === INITIAL_EPOCH) {
      if (req.sessionId !== 0) this.close(req.sessionId, req.connectionId);
      if (req.epoch === FINAL_EPOCH) return { kind: 'full', session: null };
      const session = this.open(req.connectionId, req.byTopicId, now);
      if (session) for (const p of req.requested) session.upsert(p);
      return { kind: 'full', session };
    }
    const session = this.sessions.get(req.sessionId);
    if (!session || session.connectionId !== req.connectionId) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== req.epoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (session.byTopicId !== req.byTopicId) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    for (const p of req.requested) session.upsert(p);
    for (const f of req.forgotten) session.forget(f);
    session.epoch = session.epoch === 0x7fffffff ? 1 : session.epoch + 1;
    session.lastUsedMs = now;
    // Most recently used last, for eviction.
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    return { kind: 'incremental', session };
  }

  private close(id: number, connectionId: number): void {
    if (this.sessions.get(id)?.connectionId === connectionId) this.sessions.delete(id);
  }

  private open(connectionId: number, byTopicId: boolean, now: number): FetchSession | null {
    const max = this.opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (max <= 0) return null;
    if (this.sessions.size >= max) {
      const [oldest] = this.sessions.values();
      if (!oldest || now - oldest.lastUsedMs < EVICTABLE_AFTER_MS) return null;
      this.sessions.delete(oldest.id);
      this.evicted++;
    }
    let id = 0;
    for (let i = 0; i < 100 && (id <= 0 || this.sessions.has(id)); i++) id = this.opts.randomId();
    if (id <= 0 || this.sessions.has(id)) return null;
    const session = new FetchSession(id, connectionId, byTopicId, now);
    this.sessions.set(id, session);
    return session;
  }
}
