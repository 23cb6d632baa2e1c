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
  /** This store's repair writes. */
  written: Array<{ key: string; revision: number }>;
}

/** A new rewind; one during the repair of another starts over from the same last values, against the older loss. */
export function startRewind(revision: number, previous: Rewind | null): Rewind {
  return { lostAfter: Math.min(revision, previous?.lostAfter ?? revision), replay: [], live: [], replayedAt: -1, written: [] };
}

/**
 * Writes this store's last value (`values`, null for a delete) of every key applied after `rw.lostAfter` back
 * where the bucket lost it, by compare-and-set on its last write now. Skips the controller lease (it renews
 * itself, with a new epoch) and any key written since the rewind; stops when `current()` turns false.
 */
export async function writeBackLost(
  kv: MetadataKv,
  rw: Rewind,
  known: ReadonlyMap<string, number>,
  values: ReadonlyMap<string, Uint8Array | null>,
  current: () => boolean,
  warn: (message: string, facts: Record<string, unknown>) => void,
): Promise<void> {
  for (const [key, revision] of [...known]) {
    if (!current()) return;
    if (revision <= rw.lostAfter || key === CONTROLLER_KEY) continue; // kept by the bucket; the lease renews itself
    const value = values.get(key) ?? null;
    try {
      // The bucket as it is now, not as the replay showed it: a store that hears of the rewind late (cut off
      // from NATS) must not write back over what others repaired or wrote since, deletes included.
      const now = await kv.lastWrite(key);
      if (now && now.revision > rw.lostAfter) continue; // written since the rewind: its writer's value stands
      if (value === null) {
        if (now?.value) {
          await kv.delete(key, now.revision);
          rw.written.push({ key, revision: now.revision + 1 });
        }
      } else rw.written.push({ key, revision: now ? await kv.update(key, value, now.revision) : await kv.create(key, value) });
    } catch (err) {
      if (!(err instanceof RevisionMismatchError) && !(err instanceof KeyExistsError)) warn('could not write a lost metadata value back', { key, error: err });
    }
  }
}

/** Whether the watch has delivered every repair this store wrote. */
export function repairsDelivered(rw: Rewind): boolean {
  return rw.written.every((w) => rw.live.some((c) => c.key === w.key && c.revision >= w.revision));
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
