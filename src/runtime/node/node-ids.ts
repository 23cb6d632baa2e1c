// Ids from the ulid package (its randomness is crypto.getRandomValues, its time Date.now()) and Math.random.
import { ulid } from 'ulid';
import type { Ids } from '../ids.ts';

export const nodeIds: Ids = {
  ulid: () => ulid(),
  random: () => Math.random(),
};
