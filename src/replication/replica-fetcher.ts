// One follower broker's fetch loop against one leader broker (Kafka's ReplicaFetcherThread): a single
// request carries every partition this broker follows on that leader, so an idle cluster costs one
// long-polled request per maxWaitMs per broker pair, not one per partition.
//
// Each partition is fetched from the follower's log end offset with its latest epoch (for the leader's
// divergence check) and the leader epoch it follows (for fencing). Responses are applied per partition by
// the replica itself (PartitionReplica.applyReplicaFetch), which serializes its appends and truncations and
// drops a response meant for an epoch it no longer follows. A partition whose fetch failed (fenced, not the
// leader, a failed append) backs off alone; a transport failure backs off the whole request.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import type { Logger } from '../util/logger.ts';
import { decodeFetchResponse, encodeFetchRequest, type ReplicaFetchPartitionResponse, type ReplicaFetchRequest } from './replication-codec.ts';
import { TransportError, type Transport } from '../runtime/transport.ts';
import { behindLeaderStart } from './follower-apply.ts';

/** Where a follower asks leader `subject` to answer the fetch it holds for it now (payload: the follower's id). */
export const wakeSubjectOf = (fetchSubject: string) => `${fetchSubject}.wake`;

/** What the fetcher needs of a follower replica (PartitionReplica implements it). */
export interface FollowerTarget {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
  followerFetchPosition(): { fetchOffset: number; lastFetchedEpoch: number; highWatermark: number; logStartOffset: number } | null;
  applyReplicaFetch(leaderId: number, leaderEpoch: number, res: ReplicaFetchPartitionResponse, fetchOffset: number): Promise<unknown>;
}

export interface ReplicaFetcherOptions {
  leaderId: number;
  brokerId: number;
  incarnation: string;
  transport: Transport;
  subject: string;
  /** How long the leader may hold a fetch that finds no data (replica.fetch.wait.max.ms). */
  maxWaitMs: number;
  /** Response budget, under NATS max_payload (replica.fetch.response.max.bytes). */
  maxBytes: number;
  /** Added to maxWaitMs for the request timeout. */
  requestTimeoutMs: number;
  /** Pause of a failed partition or request (replica.fetch.backoff.ms). */
  backoffMs: number;
  clock: Clock;
  logger: Logger;
}

interface Followed {
  target: FollowerTarget;
  leaderEpoch: number;
  retryAt: number;
  /** The round (request number) that last carried it, and the offset it asked from. */
  sentInRound: number;
  sentOffset: number;
}

/** How long a request is out before a partition added meanwhile wakes it (add()). */
const WAKE_AFTER_MS = 100;

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class ReplicaFetcher {
  private readonly partitions = new Map<string, Followed>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private idleTimer: TimerHandle | null = null;
  private lastTransportWarning = 0;
  /** The keys of the partitions the request in flight carries (null when none is out). */
  private inFlight: Set<string> | null = null;
  private wakeSent = false;
  /** When the request in flight went out (monotonic). */
  private sentAt = 0;
  private abandonInFlight: ((err: Error) => void) | null = null;
  /** Requests sent (tests and metrics). */
  requests = 0;

  constructor(readonly opts: ReplicaFetcherOptions) {}

  get size(): number {
    return this.partitions.size;
  }

  has(target: FollowerTarget): boolean {
    return this.partitions.get(keyOf(target.topic, target.partition))?.target === target;
  }

  add(target: FollowerTarget, leaderEpoch: number): void {
    const key = keyOf(target.topic, target.partition);
    this.partitions.set(key, { target, leaderEpoch, retryAt: 0, sentInRound: -1, sentOffset: -1 });
    this.kick();
    // A set, not a scan of the request's partitions: a broker following thousands of new partitions added each
    // one while a request carrying the others was out.
    const carried = this.inFlight?.has(key) ?? false;
    // The leader may hold the request in flight for up to maxWaitMs, and it does not carry this partition: ask
    // the leader to answer it now, so the next request (which does) goes out at once. A new leader's followers
    // then start fetching within a round trip, which is what lets acks=all writes complete after a failover.
    if (this.inFlight && !carried && !this.wakeSent) {
      this.wakeSent = true;
      // At most one wake per WAKE_AFTER_MS of a request being out: partitions are added one by one as their logs
      // open (thousands while topics are created, or when a broker fails), and every wake costs the leader a
      // pass over all of this follower's partitions in the request that follows.
      const wait = this.sentAt + WAKE_AFTER_MS - this.opts.clock.monotonic();
      if (wait <= 0) this.sendWake();
      else {
        const request = this.requests;
        this.opts.clock.setTimeout(() => {
          if (this.inFlight && this.requests === request) this.sendWake();
        }, wait);
      }
    } else if (carried) {
      // Re-followed in a new epoch while the request is out: its answer for this partition would be dropped,
      // and a leader that restarted meanwhile will never answer it at all. Send anew.
      this.abandon();
    }
  }

  private sendWake(): void {
    const payload = Buffer.alloc(4);
    payload.writeInt32BE(this.opts.brokerId);
    this.opts.transport.publish(wakeSubjectOf(this.opts.subject), payload);
  }

  /** Gives up on the request in flight (its answer will never come: the connection was lost and came back). */
  abandon(): void {
    this.abandonInFlight?.(new TransportError('CLOSED', this.opts.subject));
  }

  remove(target: FollowerTarget): void {
    const key = keyOf(target.topic, target.partition);
    if (this.partitions.get(key)?.target === target) this.partitions.delete(key);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    this.loop = null;
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    if (this.idleTimer !== null) this.opts.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    w?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let sent = false;
      try {
        sent = await this.fetchOnce();
      } catch (err) {
        this.opts.logger.error('replica fetch round failed', { leader: this.opts.leaderId, error: err as Error });
      }
      if (!sent && this.running) await this.idle();
    }
  }

  /** Waits for a partition to be added or the earliest backoff to end. */
  private idle(): Promise<void> {
    const now = this.opts.clock.wall();
    let next = Infinity;
    for (const f of this.partitions.values()) next = Math.min(next, f.retryAt);
    const delay = Math.min(Math.max(next - now, 1), this.opts.backoffMs * 5);
    return new Promise((resolve) => {
      this.wake = resolve;
      this.idleTimer = this.opts.clock.setTimeout(() => this.kick(), delay);
    });
  }

  /** One fetch round: a request for every ready partition, each response applied. False if none was ready. */
  async fetchOnce(): Promise<boolean> {
    const now = this.opts.clock.wall();
    const round = this.requests + 1;
    const sent: Followed[] = [];
    const keys = new Set<string>();
    const req: ReplicaFetchRequest = { replicaId: this.opts.brokerId, incarnation: this.opts.incarnation, maxWaitMs: this.opts.maxWaitMs, maxBytes: this.opts.maxBytes, partitions: [] };
    for (const [key, f] of this.partitions) {
      if (f.retryAt > now) continue;
      const pos = f.target.followerFetchPosition();
      if (!pos) continue;
      sent.push(f);
      keys.add(key);
      f.sentInRound = round;
      f.sentOffset = pos.fetchOffset;
      req.partitions.push({
        topic: f.target.topic, partition: f.target.partition, topicId: f.target.topicId, fetchOffset: pos.fetchOffset,
        lastFetchedEpoch: pos.lastFetchedEpoch, currentLeaderEpoch: f.leaderEpoch, highWatermark: pos.highWatermark, logStartOffset: pos.logStartOffset,
      });
    }
    if (sent.length === 0) return false;
    this.requests = round;
    let answer: ReplicaFetchPartitionResponse[];
    this.inFlight = keys;
    this.sentAt = this.opts.clock.monotonic();
    this.wakeSent = false;
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        this.abandonInFlight = reject;
        this.opts.transport.request(this.opts.subject, encodeFetchRequest(req), this.opts.maxWaitMs + this.opts.requestTimeoutMs).then(resolve, reject);
      });
      answer = decodeFetchResponse(reply).partitions;
    } catch (err) {
      const retryAt = this.opts.clock.wall() + this.opts.backoffMs;
      for (const f of sent) f.retryAt = retryAt;
      if (now - this.lastTransportWarning > 10_000) {
        this.lastTransportWarning = now;
        this.opts.logger.warn('replica fetch failed; backing off', { leader: this.opts.leaderId, partitions: sent.length, error: err as Error });
      }
      return true;
    } finally {
      this.inFlight = null;
      this.abandonInFlight = null;
    }
    // The leader leaves out the partitions with nothing new for this follower (the same high watermark, no
    // records, no error): those are simply fetched again in the next round.
    await Promise.all(
      answer.map(async (res) => {
        const f = this.partitions.get(keyOf(res.topic, res.partition));
        // Removed or re-followed (a newer epoch) while the request was out: this answer is not for it.
        if (!f || f.sentInRound !== round) return;
        // Behind the leader's log start: the replica starts over there (applyReplicaFetch), no backoff.
        if (res.errorCode !== ErrorCode.NONE && !behindLeaderStart(res, f.sentOffset)) {
          f.retryAt = this.opts.clock.wall() + this.opts.backoffMs;
          this.opts.logger.debug('replica fetch refused for a partition', { topic: res.topic, partition: res.partition, leader: this.opts.leaderId, errorCode: res.errorCode });
          return;
        }
        try {
          await f.target.applyReplicaFetch(this.opts.leaderId, f.leaderEpoch, res, f.sentOffset);
        } catch (err) {
          f.retryAt = this.opts.clock.wall() + this.opts.backoffMs;
          this.opts.logger.error('applying replicated data failed', { topic: res.topic, partition: res.partition, leader: this.opts.leaderId, error: err as Error });
        }
      }),
    );
    return true;
  }
}
