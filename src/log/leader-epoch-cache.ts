// The leader epoch cache (Kafka's LeaderEpochFileCache, KIP-101/KIP-279): for each leader epoch, the first
// offset written in it. Followers ask the leader "where does my epoch end?" (OffsetForLeaderEpoch) and
// truncate there before fetching, so replicas never diverge. Persisted as `leader-epoch-checkpoint`.
//
// A new epoch's entry is written with the log's next sync (flush), not at once: every batch carries its leader
// epoch, so a restart rebuilds the entries past the recovery point from the batches it re-validates
// (PartitionLog.open, as Kafka's segment recovery does), and the log syncs this file before its recovery point
// passes an entry's start. An entry only the crash lost belonged to an epoch that wrote nothing that survived.
// A failover makes a broker lead or follow a new epoch in a thousand partitions at once: a file synced for each
// before its first append took seconds. Truncations are persisted before they return (persist()).

import type { Storage } from './storage.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { CheckpointFormatError } from './errors.ts';

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export class LeaderEpochCache {
  private list: EpochEntry[] = [];
  /** Bumped by every change. */
  private changes = 0;
  /** The change count of the last write started; the writes run one at a time (a truncation's persist and the
   * log's flush may overlap), each after the one before, so the last one started leaves the file. */
  private queued = 0;
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: Storage,
    readonly path: string,
    private readonly logEndOffset: () => number,
    private readonly onWarning: (msg: string, facts: object) => void = () => {},
  ) {}

  static async load(storage: Storage, path: string, logEndOffset: () => number, onWarning?: (msg: string, facts: object) => void): Promise<LeaderEpochCache> {
    const cache = new LeaderEpochCache(storage, path, logEndOffset, onWarning);
    let lines: string[] | null = null;
    try {
      lines = await readCheckpoint(storage, path);
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
      onWarning?.('leader epoch checkpoint is malformed; starting with an empty cache', { path, reason: e.reason });
    }
    for (const line of lines ?? []) {
      const [e, o] = line.split(' ').map(Number);
      if (Number.isInteger(e) && Number.isInteger(o)) cache.assign(e!, o!);
    }
    cache.queued = cache.changes;
    return cache;
  }

  entries(): EpochEntry[] {
    return this.list.map((e) => ({ ...e }));
  }

  latestEpoch(): number {
    return this.list.length === 0 ? UNDEFINED_EPOCH : this.list[this.list.length - 1]!.epoch;
  }

  /**
   * Records that epoch starts at startOffset. As in Kafka, entries that would break monotonicity (an epoch
   * >= this one, or a start offset >= this one) are removed first. Returns whether anything changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0) return false;
    const last = this.list[this.list.length - 1];
    if (last && last.epoch === epoch && last.startOffset <= startOffset) return false;
    const kept = this.list.filter((e) => e.epoch < epoch && e.startOffset < startOffset);
    if (kept.length !== this.list.length) {
      this.onWarning('leader epoch cache dropped non-monotonic entries', {
        path: this.path, epoch, startOffset, removed: this.list.filter((e) => !kept.includes(e)),
      });
    }
    kept.push({ epoch, startOffset });
    this.list = kept;
    this.changes++;
    return true;
  }

  /**
   * Kafka's OffsetForLeaderEpoch answer: the end offset of `epoch` on this replica (the start of the next
   * higher epoch, or the log end for the latest), with the largest epoch <= the one asked for.
   */
  endOffsetFor(epoch: number): { epoch: number; endOffset: number } {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (epoch === UNDEFINED_EPOCH || this.list.length === 0) return undefinedAnswer;
    if (epoch === this.latestEpoch()) return { epoch, endOffset: this.logEndOffset() };
    const higher = this.list.findIndex((e) => e.epoch > epoch);
    if (higher < 0) return undefinedAnswer;
    const floor = higher - 1;
    return { epoch: floor < 0 ? epoch : this.list[floor]!.epoch, endOffset: this.list[higher]!.startOffset };
  }

  /** Removes entries starting at or after endOffset (the log was truncated there). */
  truncateFromEnd(endOffset: number): boolean {
    const n = this.list.length;
    this.list = this.list.filter((e) => e.startOffset < endOffset);
    if (this.list.length === n) return false;
    this.changes++;
    return true;
  }

  /** Forgets epochs wholly before startOffset (retention); the one spanning it now starts there. */
  truncateFromStart(startOffset: number): boolean {
    let i = 0;
    while (i + 1 < this.list.length && this.list[i + 1]!.startOffset <= startOffset) i++;
    let changed = i > 0;
    this.list = this.list.slice(i);
    const first = this.list[0];
    if (first && first.startOffset < startOffset) {
      first.startOffset = startOffset;
      changed = true;
    }
    if (changed) this.changes++;
    return changed;
  }

  /** Writes and syncs the entries as they are now. */
  persist(): Promise<void> {
    const lines = this.list.map((e) => `${e.epoch} ${e.startOffset}`);
    this.queued = this.changes;
    const write = this.lastWrite.catch(() => {}).then(() => writeCheckpoint(this.storage, this.path, lines));
    this.lastWrite = write;
    return write;
  }

  /** Writes the entries unless the file holds them or a write of them is under way (its outcome is returned). */
  flush(): Promise<void> {
    return this.queued === this.changes ? this.lastWrite : this.persist();
  }
}
