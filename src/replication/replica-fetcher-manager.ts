// Kafka's ReplicaFetcherManager: one ReplicaFetcher per leader broker, partitions moved between them as
// this broker's replicas become follower of leader L in epoch E, or stop following. A fetcher with nothing
// left to fetch is stopped.
import type { Logger } from '../util/logger.ts';
import type { Clock } from '../runtime/clock.ts';
import { ReplicaFetcher, type FollowerTarget, type ReplicaFetcherOptions } from './replica-fetcher.ts';
import type { Transport } from '../runtime/transport.ts';

export interface ReplicaFetcherManagerOptions {
  brokerId: number;
  incarnation: string;
  transport: Transport;
  /** The replica-fetch subject served by broker `leaderId`. */
  subjectFor: (leaderId: number) => string;
  maxWaitMs: number;
  maxBytes: number;
  requestTimeoutMs: number;
  backoffMs: number;
  clock: Clock;
  logger: Logger;
  /** False in deterministic tests, which drive fetchers with fetchOnce(). */
  autoStart?: boolean;
}

export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private readonly leaderOf = new Map<FollowerTarget, number>();
  private stopped = false;

  constructor(private readonly opts: ReplicaFetcherManagerOptions) {}

  /** `target` follows `leaderId` in `leaderEpoch` from now on (replacing whatever it followed before). */
  follow(target: FollowerTarget, leaderId: number, leaderEpoch: number): void {
    this.unfollow(target);
    if (this.stopped || leaderId < 0 || leaderId === this.opts.brokerId) return;
    let fetcher = this.fetchers.get(leaderId);
    if (!fetcher) {
      const o = this.opts;
      const fo: ReplicaFetcherOptions = {
        leaderId, brokerId: o.brokerId, incarnation: o.incarnation, transport: o.transport, subject: o.subjectFor(leaderId),
        maxWaitMs: o.maxWaitMs, maxBytes: o.maxBytes, requestTimeoutMs: o.requestTimeoutMs, backoffMs: o.backoffMs, clock: o.clock,
        logger: o.logger.child({ fetcher: leaderId }),
      };
      fetcher = new ReplicaFetcher(fo);
      this.fetchers.set(leaderId, fetcher);
      if (o.autoStart !== false) fetcher.start();
    }
    fetcher.add(target, leaderEpoch);
    this.leaderOf.set(target, leaderId);
  }

  unfollow(target: FollowerTarget): void {
    const leaderId = this.leaderOf.get(target);
    if (leaderId === undefined) return;
    this.leaderOf.delete(target);
    const fetcher = this.fetchers.get(leaderId);
    if (!fetcher) return;
    fetcher.remove(target);
    if (fetcher.size === 0) {
      this.fetchers.delete(leaderId);
      void fetcher.stop();
    }
  }

  /** The connection came back: requests in flight are lost, every fetcher sends anew. */
  abandonInFlight(): void {
    for (const f of this.fetchers.values()) f.abandon();
  }

  fetcherFor(leaderId: number): ReplicaFetcher | undefined {
    return this.fetchers.get(leaderId);
  }

  /** Leader ids with a fetcher (tests, dashboard). */
  leaders(): number[] {
    return [...this.fetchers.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.fetchers.values()];
    this.fetchers.clear();
    this.leaderOf.clear();
    await Promise.all(all.map((f) => f.stop()));
  }
}
