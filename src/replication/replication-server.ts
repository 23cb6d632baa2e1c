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
// its held request (`wakeSubjectOf`) when it starts following another partition here. The first pass over
// a request records each follower's position (its log end offset), which is what moves the high watermark
// and the ISR. Responses stay within a byte budget under NATS max_payload, always with at least one batch,
// and the partition served first rotates so a busy partition cannot starve the others.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Logger } from '../util/logger.ts';
import { decodeFetchRequest, encodeFetchResponse, type ReplicaFetchPartition, type ReplicaFetchPartitionResponse, type ReplicaFetchRequest } from './replication-codec.ts';
import type { RequestReply } from './request-reply.ts';
import { wakeSubjectOf } from './replica-fetcher.ts';

/** What the server needs of a partition replica this broker hosts (PartitionReplica implements it). */
export interface LeaderTarget {
  serveReplicaFetch(replicaId: number, incarnation: string, p: ReplicaFetchPartition, maxBytes: number, record: boolean): Promise<ReplicaFetchPartitionResponse>;
  onceAppended(fn: () => void): () => void;
  onceHighWatermark(fn: () => void): () => void;
}

export interface ReplicationServerOptions {
  brokerId: number;
  transport: RequestReply;
  subject: string;
  lookup: (topic: string, partition: number) => LeaderTarget | undefined;
  /** Hard cap of a response, whatever the follower asks (4 MB: half the 8 MB NATS max_payload we run with). */
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
}

const EMPTY = Buffer.alloc(0);
const WAKE_MEMORY_MS = 1_000;

export class ReplicationServer {
  private sub: { stop(): void } | null = null;
  private wakeSub: { stop(): void } | null = null;
  private rotation = 0;
  /** Held requests' release functions, with the follower each one is for. */
  private readonly held = new Map<() => void, number>();
  /** Wakes that found no held request: follower → when. */
  private readonly unheldWakes = new Map<number, number>();
  /** Requests answered (tests and metrics). */
  served = 0;

  constructor(private readonly opts: ReplicationServerOptions) {}

  start(): void {
    this.sub ??= this.opts.transport.serve(this.opts.subject, (payload) => this.handle(payload));
    this.wakeSub ??= this.opts.transport.listen(wakeSubjectOf(this.opts.subject), (payload) => {
      if (payload.length >= 4) this.wake(payload.readInt32BE(0));
    });
  }

  stop(): void {
    this.sub?.stop();
    this.sub = null;
    this.wakeSub?.stop();
    this.wakeSub = null;
    for (const release of [...this.held.keys()]) release();
  }

  /**
   * Answers the requests held for follower `replicaId` now (it follows more partitions here than they carry).
   * A wake that finds none held may have overtaken the request it was meant for: the follower's next request
   * within WAKE_MEMORY_MS is then answered without waiting.
   */
  wake(replicaId: number): void {
    let released = false;
    for (const [release, id] of [...this.held]) {
      if (id !== replicaId) continue;
      release();
      released = true;
    }
    if (!released) this.unheldWakes.set(replicaId, performance.now());
  }

  async handle(payload: Buffer): Promise<Uint8Array> {
    let req: ReplicaFetchRequest;
    try {
      req = decodeFetchRequest(payload);
    } catch (err) {
      this.opts.logger.error('malformed replica fetch request', { error: err as Error });
      return encodeFetchResponse({ partitions: [] });
    }
    const first = await this.readAll(req, true);
    let results = first.results;
    const wait = Math.min(Math.max(req.maxWaitMs, 0), this.opts.maxWaitCapMs);
    const wokenAt = this.unheldWakes.get(req.replicaId);
    if (wokenAt !== undefined) this.unheldWakes.delete(req.replicaId);
    const woken = wokenAt !== undefined && performance.now() - wokenAt < WAKE_MEMORY_MS;
    if (wait > 0 && this.sub && !first.urgent && !woken) {
      const hwDelay = this.opts.highWatermarkDelayMs ?? 10;
      await this.waitForData(req, results.length > 0 ? Math.min(wait, hwDelay) : wait, hwDelay);
      results = (await this.readAll(req, false)).results;
    }
    this.served++;
    return encodeFetchResponse({ partitions: results });
  }

  private async readAll(req: ReplicaFetchRequest, record: boolean): Promise<ReadPass> {
    const n = req.partitions.length;
    const results: ReplicaFetchPartitionResponse[] = new Array(n);
    let budget = Math.min(Math.max(req.maxBytes, 1), this.opts.maxResponseBytes);
    let bytes = 0;
    const start = n === 0 ? 0 : this.rotation++ % n;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const p = req.partitions[i]!;
      const target = this.opts.lookup(p.topic, p.partition);
      if (!target) {
        results[i] = { topic: p.topic, partition: p.partition, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1, logStartOffset: -1, leaderEpoch: -1, records: EMPTY };
        continue;
      }
      const limit = bytes === 0 ? this.opts.partitionMaxBytes : Math.min(this.opts.partitionMaxBytes, budget);
      let r: ReplicaFetchPartitionResponse;
      try {
        r = await target.serveReplicaFetch(req.replicaId, req.incarnation, p, limit, record);
      } catch (err) {
        this.opts.logger.error('serving a replica fetch failed', { topic: p.topic, partition: p.partition, replica: req.replicaId, error: err as Error });
        r = { topic: p.topic, partition: p.partition, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, highWatermark: -1, logStartOffset: -1, leaderEpoch: -1, records: EMPTY };
      }
      // The first batch may exceed the budget (so one huge batch never blocks a follower); later ones may not.
      if (r.records.length > 0 && bytes > 0 && r.records.length > budget) r = { ...r, records: EMPTY };
      bytes += r.records.length;
      budget = Math.max(0, budget - r.records.length);
      results[i] = r;
    }
    const out: ReplicaFetchPartitionResponse[] = [];
    let urgent = false;
    for (let i = 0; i < n; i++) {
      const r = results[i]!;
      const u = r.errorCode !== ErrorCode.NONE || r.records.length > 0 || r.divergingEpoch !== undefined;
      urgent ||= u;
      if (u || r.highWatermark > req.partitions[i]!.highWatermark) out.push(r);
    }
    return { results: out, urgent };
  }

  /** Holds the request until a partition grows, `ms` passes, or `hwDelayMs` after a high watermark moved. */
  private waitForData(req: ReplicaFetchRequest, ms: number, hwDelayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const cancels: Array<() => void> = [];
      let timer: NodeJS.Timeout | null = null;
      let hwTimer: NodeJS.Timeout | null = null;
      const done = () => {
        this.held.delete(done);
        if (timer) clearTimeout(timer);
        if (hwTimer) clearTimeout(hwTimer);
        for (const c of cancels) c();
        resolve();
      };
      const soon = () => (hwTimer ??= setTimeout(done, hwDelayMs));
      this.held.set(done, req.replicaId);
      timer = setTimeout(done, ms);
      for (const p of req.partitions) {
        const target = this.opts.lookup(p.topic, p.partition);
        if (!target) continue;
        cancels.push(target.onceAppended(done));
        cancels.push(target.onceHighWatermark(soon));
      }
    });
  }
}
