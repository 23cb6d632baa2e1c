// The consumer's side of a fetch session with one broker (KIP-227; the broker's side is
// src/broker/fetch-sessions.ts), as the Java client's FetchSessionHandler keeps it: the first fetch names every
// partition and opens a session (epoch 0); the next ones name only the partitions that joined or whose fetch
// offset moved, forget those no longer fetched, and carry the session's next epoch. A broker without room (or
// an older one) answers session id 0, and the fetches stay full; a session the broker no longer knows, or a
// fetch whose answer never came, starts over with a full fetch.

/** A partition to fetch, as a request carries it. */
export interface WantedPartition {
  topic: string;
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
}

/** The session fields of the next request, what it names and what it forgets. */
export interface SessionRequest {
  sessionId: number;
  sessionEpoch: number;
  send: WantedPartition[];
  forget: Array<{ topic: string; partition: number }>;
  full: boolean;
}

const keyOf = (p: { topic: string; partition: number }) => `${p.topic}\u0000${p.partition}`;
/** Answers that end the session: FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR. */
const SESSION_ERRORS = new Set([70, 71, 106]);

export class ClientFetchSession {
  private id = 0;
  /** The epoch of the next incremental fetch; 0: the next fetch is full and opens a session. */
  private epoch = 0;
  /** The partitions the broker's session holds, as last sent. */
  private readonly inSession = new Map<string, WantedPartition>();
  /** The request out, until answered (one at a time per broker). */
  private pending: { req: SessionRequest; wanted: WantedPartition[] } | null = null;

  constructor(private readonly enabled = true) {}

  /** The session fields and partitions of a fetch of `wanted`. */
  next(wanted: WantedPartition[]): SessionRequest {
    let req: SessionRequest;
    if (!this.enabled) req = { sessionId: 0, sessionEpoch: -1, send: wanted, forget: [], full: true };
    else if (this.epoch === 0) req = { sessionId: this.id, sessionEpoch: 0, send: wanted, forget: [], full: true };
    else {
      const wantedKeys = new Set<string>();
      const send: WantedPartition[] = [];
      for (const w of wanted) {
        const key = keyOf(w);
        wantedKeys.add(key);
        const had = this.inSession.get(key);
        if (!had || had.fetchOffset !== w.fetchOffset || had.partitionMaxBytes !== w.partitionMaxBytes) send.push(w);
      }
      const forget = [...this.inSession.values()].filter((p) => !wantedKeys.has(keyOf(p))).map(({ topic, partition }) => ({ topic, partition }));
      req = { sessionId: this.id, sessionEpoch: this.epoch, send, forget, full: false };
    }
    this.pending = { req, wanted };
    return req;
  }

  /** The broker answered the last request with top-level `errorCode` and `sessionId`. */
  answered(errorCode: number, sessionId: number): void {
    const p = this.pending;
    this.pending = null;
    if (!p || !this.enabled) return;
    if (errorCode !== 0) {
      if (SESSION_ERRORS.has(errorCode)) this.reset(0);
      return;
    }
    if (p.req.full) {
      this.id = sessionId;
      this.epoch = sessionId === 0 ? 0 : 1;
      this.inSession.clear();
      if (sessionId !== 0) for (const w of p.wanted) this.inSession.set(keyOf(w), w);
      return;
    }
    for (const f of p.req.forget) this.inSession.delete(keyOf(f));
    for (const w of p.req.send) this.inSession.set(keyOf(w), w);
    this.epoch = this.epoch === 0x7fffffff ? 1 : this.epoch + 1;
  }

  /** The last request got no answer (the broker may or may not have applied it): the next fetch is full, closing this session. */
  failed(): void {
    this.pending = null;
    this.reset(this.id);
  }

  private reset(closeId: number): void {
    this.id = closeId;
    this.epoch = 0;
    this.inSession.clear();
  }
}
