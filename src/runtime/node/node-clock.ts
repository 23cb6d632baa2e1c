// The real clock: Date.now() for wall time, performance.now() for monotonic time, Node's timers.
import type { Clock, TimerHandle } from '../clock.ts';

export const nodeClock: Clock = {
  wall: Date.now,
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle: TimerHandle) => clearInterval(handle as NodeJS.Timeout),
};
