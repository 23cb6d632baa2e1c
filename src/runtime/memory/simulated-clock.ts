// A clock that moves only when told to (advance, or step for a simulator): timers fire in due order, each
// with the time set to its due time, so a test or a simulation decides what "later" means and runs the same
// way every time. Wall time is the monotonic time plus a fixed start (and whatever stepWall moved it by), so a
// test can also step the wall clock without firing anything, as NTP would.
//
// Timers sit in a binary heap ordered by (due time, id): ties fire in the order they were set, and a cleared
// timer is dropped when it reaches the top, so a simulation with thousands of timers stays cheap per step.
import type { Clock, TimerHandle } from '../clock.ts';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  /** Re-armed after firing (setInterval), else 0. */
  every: number;
}

export class SimulatedClock implements Clock {
  private t = 0;
  private wallOffset: number;
  /** Live timers by id; the heap may still hold cleared ones (skipped when they come up). */
  private readonly timers = new Map<number, Timer>();
  private readonly heap: Timer[] = [];
  private nextId = 1;

  /** `wallStart`: the wall time at monotonic 0. */
  constructor(wallStart = 1_700_000_000_000) {
    this.wallOffset = wallStart;
  }

  /** Whole milliseconds, as Date.now() (monotonic time may be fractional, as performance.now()). */
  wall(): number {
    return Math.floor(this.wallOffset + this.t);
  }

  monotonic(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, 0);
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer is due (monotonic ms), or null when none is set. */
  nextDue(): number | null {
    return this.top()?.at ?? null;
  }

  /**
   * Fires the next timer if it is due at or before `until`, moving time to its due time, and says whether one
   * fired. A simulator calls this once per step and lets the promises it started settle before the next.
   */
  step(until = Number.POSITIVE_INFINITY): boolean {
    const next = this.top();
    if (!next || next.at > until) return false;
    this.pop();
    this.t = Math.max(this.t, next.at);
    if (next.every > 0) {
      next.at += next.every;
      this.push(next);
    } else {
      this.timers.delete(next.id);
    }
    next.fn();
    return true;
  }

  /** Moves time forward by `ms`, firing every timer due meanwhile (those they set too) in due order. */
  advance(ms: number): void {
    const until = this.t + Math.max(0, ms);
    while (this.step(until));
    this.t = Math.max(this.t, until);
  }

  /** advance() up to monotonic time `t` (no move when it is past already). */
  advanceTo(t: number): void {
    this.advance(t - this.t);
  }

  /** Steps the wall clock (and only it) by `ms`, as an operator or NTP would. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  private add(fn: () => void, ms: number, every: number): number {
    const id = this.nextId++;
    const timer = { id, at: this.t + Math.max(0, ms), fn, every };
    this.timers.set(id, timer);
    this.push(timer);
    return id;
  }

  /** The earliest live timer (cleared ones on top are dropped on the way). */
  private top(): Timer | undefined {
    while (this.heap.length > 0) {
      const head = this.heap[0]!;
      if (this.timers.get(head.id) === head) return head;
      this.pop();
    }
    return undefined;
  }

  private static before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!SimulatedClock.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && SimulatedClock.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && SimulatedClock.before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
