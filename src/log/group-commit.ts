// Group commit: appends that need durability wait for an fsync, and every append whose write finished
// while one fsync was running shares the next one, so N concurrent appends cost far fewer than N fsyncs.
// Operations that must not overlap a sync (truncation, retention, close) run through exclusive().

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class GroupCommit {
  /** Everything below this offset is known durable. */
  durableOffset: number;
  private waiters: Waiter[] = [];
  private current: Promise<void> | null = null;
  private paused = 0;

  /** sync makes everything written so far durable and returns the offset that covers. */
  constructor(private readonly sync: () => Promise<number>, durableOffset: number) {
    this.durableOffset = durableOffset;
  }

  /** Resolves once offsets below upTo are durable; rejects if the sync covering them fails. */
  wait(upTo: number): Promise<void> {
    if (this.durableOffset >= upTo) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.current || this.paused > 0 || this.waiters.length === 0) return;
    this.current = this.round().finally(() => {
      this.current = null;
      this.kick();
    });
  }

  private async round(): Promise<void> {
    const batch = this.waiters;
    this.waiters = [];
    try {
      const covered = await this.sync();
      if (covered > this.durableOffset) this.durableOffset = covered;
      for (const w of batch) {
        if (w.upTo <= covered) w.resolve();
        // Written before waiting yet not covered: the log was truncated under it.
        else w.reject(new Error(`offsets below ${w.upTo} were truncated before becoming durable (log end ${covered})`));
      }
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }

  /** Runs fn with no sync in flight and none starting until it finishes. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.paused++;
    try {
      while (this.current) await this.current;
      return await fn();
    } finally {
      this.paused--;
      this.kick();
    }
  }

  /** Lowers the durable mark after a truncation. */
  lowerTo(offset: number): void {
    if (offset < this.durableOffset) this.durableOffset = offset;
  }
}
