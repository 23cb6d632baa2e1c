// Slows down password guessing: each failed login from an address makes that address's next failure answer
// later — 100 ms, doubling per failure up to 5 s — and a success or ten quiet minutes forget the count.
// Kafka closes the connection after a failed login (connection.failed.authentication.delay.ms delays that
// answer by a fixed time); a delay that grows with the failures slows a guesser more and an honest typo less.
export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 5_000;
const FORGET_AFTER_MS = 10 * 60_000;
const MAX_TRACKED = 10_000;

export class AuthFailureThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  /** Records a failure from `host` at `now`; returns how long to wait before answering it. */
  failed(host: string, now: number): number {
    const prev = this.failures.get(host);
    const count = prev && now - prev.last < FORGET_AFTER_MS ? prev.count + 1 : 1;
    this.failures.delete(host);
    this.failures.set(host, { count, last: now });
    if (this.failures.size > MAX_TRACKED) this.failures.delete(this.failures.keys().next().value!);
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (count - 1));
  }

  succeeded(host: string): void {
    this.failures.delete(host);
  }
}
