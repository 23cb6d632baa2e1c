// A clock that moves only when told to (advance): timers fire in due order, each with the time set to its
// due time, so a test or a simulation decides what "later" means and runs the same way every time. Wall time
// is the monotonic time plus a fixed start (and whatever setWall moved it by), so a test can also step the
// wall clock without firing anything, as NTP would.
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
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;

  /** `wallStart`: the wall time at monotonic 0. */
  constructor(wallStart = 1_700_000_000_000) {
    this.wallOffset = wallStart;
  }

  wall(): number {
    return this.wallOffset + this.t;
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

  /** Moves time forward by `ms`, firing every timer due meanwhile (those they set too) in due order. */
  advance(ms: number): void {
    const until = this.t + Math.max(0, ms);
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.timers.values()) if (timer.at <= until && (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) next = timer;
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      if (next.every > 0) next.at += next.every;
      else this.timers.delete(next.id);
      next.fn();
    }
    this.t = until;
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
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn, every });
    return id;
  }
}
