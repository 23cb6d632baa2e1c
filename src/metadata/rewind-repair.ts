// The metadata bucket going back (KvRewound), and how a MetadataStore repairs it.
//
// A crash of the whole NATS side may lose the bucket's last writes (nats-server 2.9 syncs every two minutes).
// Every broker watched those writes and acted on them (a leader epoch, an ISR, a topic, a producer-id block),
// so the snapshot must not go back with the bucket: that would elect a replica the ISR had dropped, hand out a
// leader epoch twice, delete a topic's logs, or hand out producer ids twice. Each store writes its last value
// of every key the bucket lost back, by compare-and-set on what the bucket now holds (the brokers saw the
// same writes, so whichever gets there first writes the same value; a key written since the rewind is left
// to its writer), and only then moves its snapshot to the repaired bucket, in one step. Until then the
// snapshot stays where it was, and a write whose key reads older than the snapshot's is refused
// (as a lost compare-and-set), so nothing is decided on the lost state meanwhile. The simulator loses the
// bucket's latest writes once in every seed (test/sim, `--no-nats-loss` to leave it out); against a real
// nats-server, test/integration/nats-kv-rewind.test.ts puts a copy of its store back.
import { KeyExistsError, RevisionMismatchError } from './kv-errors.ts';
import type { KvChange, MetadataKv } from './kv.ts';
import { CONTROLLER_KEY } from './metadata-keys.ts';

/** A rewind being repaired: from its KvRewound until the snapshot moved to the repaired bucket. */
export interface Rewind {
  /** Writes after this revision were lost (or may have been: the watch reports a revision known whole). */
  lostAfter: number;
  /** The bucket's values after the rewind, as the watch replayed them, and the changes since. */
  replay: KvChange[];
  live: KvChange[];
  /** The revision the replay covers; -1 until it ended. */
  replayedAt: number;
  /**
   * Writes the watch must deliver before the snapshot moves: this store's repairs, and the writes since the
   * rewind it found in their place (another store's repair or a new write), which its snapshot must not go
   * back behind: moving before the watch delivered another store's repeated delete showed a deleted topic again.
   */
  awaited: Array<{ key: string; revision: number }>;
}

/** A new rewind; one during the repair of another starts over from the same last values, against the older loss. */
export function startRewind(revision: number, previous: Rewind | null): Rewind {
  return { lostAfter: Math.min(revision, previous?.lostAfter ?? revision), replay: [], live: [], replayedAt: -1, awaited: [] };
}

/** How many times a repair write that lost its compare-and-set reads the key again. */
const WRITE_BACK_TRIES = 3;

/**
 * Writes this store's last value (`values`, null for a delete) of every key whose last write the bucket lost
 * (lostKeys) back, by compare-and-set on its last write now. Skips the controller lease (it renews
 * itself, with a new epoch) and any key written since the rewind (its writer's value stands; the snapshot
 * waits for the watch to deliver it, see Rewind.awaited); stops when `current()` turns false.
 */
export async function writeBackLost(
  kv: MetadataKv,
  rw: Rewind,
  known: ReadonlyMap<string, number>,
  values: ReadonlyMap<string, Uint8Array | null>,
  knownThrough: number,
  current: () => boolean,
  warn: (message: string, facts: Record<string, unknown>) => void,
): Promise<void> {
  for (const key of lostKeys(rw, known, values, knownThrough)) {
    if (key === CONTROLLER_KEY) continue; // the lease renews itself
    for (let attempt = 1; attempt <= WRITE_BACK_TRIES; attempt++) {
      if (!current()) return;
      try {
        await writeBack(kv, rw, key, values.get(key) ?? null);
        break;
      } catch (err) {
        // Lost to another store's repair or a new write: read again, and wait for what stands.
        if (err instanceof RevisionMismatchError || err instanceof KeyExistsError) continue;
        warn('could not write a lost metadata value back', { key, error: err });
        break;
      }
    }
  }
}

/**
 * The keys whose last write this store applied and the bucket lost: those it applied after `rw.lostAfter`, and
 * those the bucket holds from before that this store's snapshot (whole through `knownThrough`) no longer had,
 * whose deletion was lost. A store that restarted since knows no revision of a key deleted before: without the
 * second kind it wrote no delete back, and its snapshot showed the deleted topic again after the repair.
 */
function lostKeys(rw: Rewind, known: ReadonlyMap<string, number>, values: ReadonlyMap<string, Uint8Array | null>, knownThrough: number): string[] {
  const keys = [...known].filter(([, revision]) => revision > rw.lostAfter).map(([key]) => key);
  for (const c of rw.replay) {
    if (c.value !== null && c.revision <= Math.min(knownThrough, rw.lostAfter) && values.get(c.key) == null && !keys.includes(c.key)) keys.push(c.key);
  }
  return keys;
}

/** One key's write-back against the bucket as it is now (see writeBackLost). */
async function writeBack(kv: MetadataKv, rw: Rewind, key: string, value: Uint8Array | null): Promise<void> {
  // The bucket as it is now, not as the replay showed it: a store that hears of the rewind late (cut off
  // from NATS) must not write back over what others repaired or wrote since, deletes included.
  const now = await kv.lastWrite(key);
  if (now && now.revision > rw.lostAfter) {
    rw.awaited.push({ key, revision: now.revision }); // written since the rewind: its writer's value stands
    return;
  }
  if (value === null) {
    if (now?.value) {
      await kv.delete(key, now.revision);
      rw.awaited.push({ key, revision: now.revision + 1 });
    }
  } else rw.awaited.push({ key, revision: now ? await kv.update(key, value, now.revision) : await kv.create(key, value) });
}

/** Whether the watch has delivered every write the repair waits for (Rewind.awaited). */
export function repairsDelivered(rw: Rewind): boolean {
  const seen = new Map<string, number>();
  for (const c of [...rw.replay, ...rw.live]) seen.set(c.key, Math.max(c.revision, seen.get(c.key) ?? 0));
  return rw.awaited.every((w) => (seen.get(w.key) ?? 0) >= w.revision);
}

/**
 * The bucket as `changes` (a replay and what followed it) describe it: each key's last change (`last`), and the
 * changes that take a snapshot holding `knownKeys` (with `values`) there (`all`: a delete of every key with a
 * value that the bucket no longer has, then `last`).
 */
export function bucketAfter(changes: KvChange[], knownKeys: Iterable<string>, values: ReadonlyMap<string, Uint8Array | null>): { last: KvChange[]; all: KvChange[] } {
  const last = new Map<string, KvChange>();
  for (const c of changes) if (c.revision > (last.get(c.key)?.revision ?? 0)) last.set(c.key, c);
  const gone: KvChange[] = [...knownKeys].filter((k) => !last.has(k) && values.get(k) != null).map((key) => ({ operation: 'DEL', key, value: null, revision: 0 }));
  return { last: [...last.values()], all: [...gone, ...last.values()] };
}
