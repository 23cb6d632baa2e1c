// The time source the metadata code uses, passed in so a whole cluster can run on a simulated clock.
// Structural: any clock with these three members (a shared SimulatedClock included) fits.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * A monotonic clock (performance.now()): leases and liveness measure elapsed time with it, so a wall
 * clock stepped by NTP or an operator can neither expire a lease early nor keep a dead broker alive.
 */
export const monotonicClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
