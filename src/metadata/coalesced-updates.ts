// Updates to one key, coalesced: while a write of the key is in flight, the updates that arrive wait and
// then go out together as the next write, so N concurrent writers of one key cost a few compare-and-sets
// instead of N rounds of N-1 losers each. Kafka's controller does the same with AlterPartition (every
// pending ISR change of a broker in one request, applied in one batch of records); without it, 10,000
// partitions' leaders proposing ISR changes for 100-partition topics at once kept losing compare-and-sets
// to each other until every proposal timed out.
//
// Each update is a pure recipe applied on its own (an immer produce over the value the previous recipes
// left), so one that throws or makes an invalid value fails alone and the others still go out; every
// update that succeeds resolves with the value as written, which holds the others' changes too.

export interface PendingUpdate<T> {
  readonly apply: (value: T) => T;
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** Writes one batch of updates to `key` (retrying lost compare-and-sets itself) and settles each of them. */
export type BatchWriter<T> = (key: string, batch: readonly PendingUpdate<T>[]) => Promise<void>;

export class CoalescedUpdates<T> {
  private readonly waiting = new Map<string, PendingUpdate<T>[]>();

  constructor(private readonly write: BatchWriter<T>) {}

  /** Queues `apply` for `key`; resolves with the value written with it, rejects with its own failure. */
  submit(key: string, apply: (value: T) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queue = this.waiting.get(key);
      const update: PendingUpdate<T> = { apply, resolve, reject };
      if (queue) {
        queue.push(update);
        return;
      }
      this.waiting.set(key, [update]);
      void this.drain(key);
    });
  }

  /** Writes the key's queue batch after batch until no update is left; the only writer of `key` meanwhile. */
  private async drain(key: string): Promise<void> {
    // The first batch leaves on the next microtask turn, so updates submitted in the same turn join it.
    await Promise.resolve();
    for (;;) {
      const batch = this.waiting.get(key)!;
      if (batch.length === 0) {
        this.waiting.delete(key);
        return;
      }
      this.waiting.set(key, []);
      try {
        await this.write(key, batch);
      } catch (err) {
        for (const u of batch) u.reject(err);
      }
    }
  }
}
