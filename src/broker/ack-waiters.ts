// The acks=all producers of one partition leader waiting for the high watermark to pass their batch (Kafka's
// DelayedProduce): each resolves once the high watermark is past its last offset, or fails when its timeout
// passes (REQUEST_TIMED_OUT) or the leader gives up on them all (leadership moved, the ISR fell below
// min.insync.replicas). Plain objects of the data path, not actor events.
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { KafkaError } from './kafka-error.ts';

interface AckWaiter {
  /** Resolved once the high watermark is past this offset. */
  offset: number;
  resolve: () => void;
  reject: (err: KafkaError) => void;
  timer: TimerHandle;
}

export class AckWaiters {
  private waiters: AckWaiter[] = [];

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.waiters.length;
  }

  /** Resolves once the high watermark is past `offset` (release), or fails after `timeoutMs`. */
  wait(offset: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: AckWaiter = {
        offset,
        resolve,
        reject,
        timer: this.clock.setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `the in-sync replicas did not reach offset ${offset} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The high watermark moved to `highWatermark`: every waiter below it is answered. */
  release(highWatermark: number): void {
    if (this.waiters.length === 0) return;
    const still: AckWaiter[] = [];
    for (const w of this.waiters) {
      if (w.offset < highWatermark) {
        this.clock.clearTimeout(w.timer);
        w.resolve();
      } else still.push(w);
    }
    this.waiters = still;
  }

  /** Every waiter fails with the Kafka error `code`. */
  failAll(code: number, why: string): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      this.clock.clearTimeout(w.timer);
      w.reject(new KafkaError(code, why));
    }
  }
}
