// Replacing a run of segments by the one the log cleaner wrote, crash-safe (Kafka's LocalLog.replaceSegments
// and LogLoader's swap recovery): a crash at any point leaves the old segments or the new one, never a mix.
//
// The cleaner writes `<base>.log.cleaned` (+ `.index.cleaned`, `.timeindex.cleaned`) and syncs them. Then:
//   1. `<base>.swapend` records where the replaced run ends (the first offset past it): written, synced, renamed
//      into place, so the swap's extent is known without trusting what the new segment's last batch says (a
//      cleaned segment may end early or hold nothing at all);
//   2. the indexes' `.cleaned` files become `.swap`, then the log's: `<base>.log.swap` existing is the commit;
//   3. the old segments' files are deleted;
//   4. the `.swap` files take the final names, then `.swapend` goes.
// Recovery on open (completeSwaps) deletes `.cleaned` files and any `.swap`/`.swapend` without a `.log.swap`
// (a swap that never committed), and finishes every committed one: steps 3 and 4 again. Storage directory
// operations are durable when they resolve (storage.ts), which is what makes each step a point to resume from.

import { join } from 'node:path';
import type { Storage } from './storage.ts';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segmentName } from './segment.ts';
import { readOffsetCheckpoint, writeOffsetCheckpoint } from './checkpoint.ts';
import { CheckpointFormatError } from './errors.ts';

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const SWAP_END_SUFFIX = '.swapend';

const SEGMENT_FILES = [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] as const;

function path(dir: string, base: number, suffix: string): string {
  return join(dir, segmentName(base, suffix));
}

async function unlinkIfExists(storage: Storage, p: string): Promise<void> {
  if (await storage.exists(p)) await storage.unlink(p);
}

/** Steps 1 and 2: after them the swap is committed (recovery completes it). */
export async function commitSwap(storage: Storage, dir: string, base: number, end: number): Promise<void> {
  await writeOffsetCheckpoint(storage, path(dir, base, SWAP_END_SUFFIX), end);
  // The log's rename comes last: it is the commit.
  for (const s of SEGMENT_FILES) await storage.rename(path(dir, base, s + CLEANED_SUFFIX), path(dir, base, s + SWAP_SUFFIX));
}

/** Steps 3 and 4: the old segments' files (bases given) go, the swap files take their final names. */
export async function finishSwap(storage: Storage, dir: string, base: number, oldBases: number[]): Promise<void> {
  for (const b of oldBases) {
    for (const s of SEGMENT_FILES) await unlinkIfExists(storage, path(dir, b, s));
  }
  for (const s of SEGMENT_FILES) {
    const from = path(dir, base, s + SWAP_SUFFIX);
    // Only an index may be missing (a recovery that already moved it); the index is rebuilt from the log then.
    if (await storage.exists(from)) await storage.rename(from, path(dir, base, s));
  }
  await unlinkIfExists(storage, path(dir, base, SWAP_END_SUFFIX));
}

/** Removes what an uncommitted cleaning left (its `.cleaned` files). */
export async function discardCleaned(storage: Storage, dir: string, base: number): Promise<void> {
  for (const s of SEGMENT_FILES) await unlinkIfExists(storage, path(dir, base, s + CLEANED_SUFFIX));
}

/**
 * Recovery at open: aborts uncommitted swaps and completes committed ones. Returns how many it completed.
 */
export async function completeSwaps(storage: Storage, dir: string, warn: (msg: string, facts: object) => void): Promise<number> {
  const names = await storage.list(dir);
  for (const n of names) if (n.endsWith(CLEANED_SUFFIX)) await storage.unlink(join(dir, n));
  const logBases = names.filter((n) => /^\d{20}\.log$/.test(n)).map((n) => Number(n.slice(0, 20)));
  let completed = 0;
  for (const n of names) {
    if (!/^\d{20}\.log\.swap$/.test(n)) continue;
    const base = Number(n.slice(0, 20));
    let end: number | null = null;
    try {
      end = await readOffsetCheckpoint(storage, path(dir, base, SWAP_END_SUFFIX));
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
    }
    if (end === null) {
      // Cannot happen by the order of the steps; without its extent the swap cannot be completed safely.
      warn('discarding a segment swap without its extent', { file: join(dir, n) });
      for (const s of SEGMENT_FILES) await unlinkIfExists(storage, path(dir, base, s + SWAP_SUFFIX));
      continue;
    }
    warn('completing an interrupted segment swap of the log cleaner', { file: join(dir, n), end });
    await finishSwap(storage, dir, base, logBases.filter((b) => b >= base && b < end!));
    completed++;
  }
  for (const n of await storage.list(dir)) {
    if (n.endsWith(SWAP_SUFFIX) || n.endsWith(SWAP_END_SUFFIX)) await storage.unlink(join(dir, n));
  }
  return completed;
}
