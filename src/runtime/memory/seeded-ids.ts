// Ids for simulation: ULIDs and random numbers from one seeded generator (mulberry32) and the runtime's clock,
// so a run with the same seed makes the same ids and choices.
import { monotonicFactory } from 'ulid';
import type { Clock } from '../clock.ts';
import type { Ids } from '../ids.ts';

export function seededIds(seed: number, clock: Pick<Clock, 'wall'>): Ids {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // Time from the runtime's clock, randomness from the seed (ids made in one millisecond still increase).
  const next = monotonicFactory(random);
  return { random, ulid: () => next(clock.wall()) };
}
