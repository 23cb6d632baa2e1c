// DeleteRecords requests waiting on one partition leader for its replicas to catch up with a new log start
// (Kafka's DelayedDeleteRecords): a request completes once the low watermark — the smallest log start offset
// over the leader and its in-sync followers, as each follower reports it in its fetches — has reached the
// offset it deleted before, or fails with REQUEST_TIMED_OUT at its deadline, or NOT_LEADER_OR_FOLLOWER when
// leadership moves. Kafka counts every replica on a live broker; Kastor counts the ISR, which is the set
// whose progress the leader tracks and whose members a new leader is elected from.
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { KafkaError } from '../broker/kafka-error.ts';

interface Waiter {
  offset: number;
  resolve: (lowWatermark: number) => void;
  reject: (err: KafkaError) => void;
  timer: TimerHandle;
}

export class DeleteRecordsWaiters {
  private waiters: Waiter[] = [];

  constructor(
    private readonly clock: Clock,
    /** The partition's low watermark now. */
    private readonly lowWatermark: () => number,
  ) {}

  get size(): number {
    return this.waiters.length;
  }

  /** Resolves with the low watermark once it reached `offset` (at once if it has). */
  wait(offset: number, timeoutMs: number): Promise<number> {
    const now = this.lowWatermark();
    if (now >= offset) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        offset,
        resolve,
        reject,
        timer: this.clock.setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          // Kafka's expired DelayedDeleteRecords answers REQUEST_TIMED_OUT with the low watermark reached so far.
          const lowWatermark = this.lowWatermark();
          reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `the in-sync replicas' log start did not reach ${offset} within ${timeoutMs} ms (low watermark ${lowWatermark})`, { lowWatermark }));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Completes the requests the low watermark now satisfies (a follower reported its log start, the ISR changed). */
  check(): void {
    if (this.waiters.length === 0) return;
    const low = this.lowWatermark();
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.offset <= low) {
        this.clock.clearTimeout(w.timer);
        w.resolve(low);
      } else still.push(w);
    }
    this.waiters = still;
  }

  /** Fails every waiting request (leadership moved, the replica stopped). */
  failAll(errorCode: number, why: string): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) {
      this.clock.clearTimeout(w.timer);
      w.reject(new KafkaError(errorCode, why));
    }
  }
}
