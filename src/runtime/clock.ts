// Time as every component sees it: one object passed in, so several brokers share a process and a whole
// cluster runs on a simulated clock (memory/simulated-clock.ts) as well as on the real one (node/node-clock.ts).
//
// Two readings, because they answer different questions: `wall()` is the time of day (record timestamps,
// retention, segment age, Kafka's time-based checks, as Date.now()); `monotonic()` never steps (leases,
// liveness and other elapsed-time measures, as performance.now()), so a wall clock moved by NTP or an operator
// can neither expire a lease early nor keep a dead broker alive. Timers take the same shape as XState's clock
// option, so a Clock is what an actor's `createActor(machine, { clock })` gets too.
//
// Hot paths call these methods on an object held in a field: implementations allocate nothing per reading.

/** What setTimeout/setInterval return: only ever handed back to clearTimeout/clearInterval. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the Unix epoch (Date.now()). */
  wall(): number;
  /** Milliseconds on a clock that never goes back or jumps (performance.now()); only differences mean anything. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}
