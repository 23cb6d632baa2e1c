// Kafka's per-log-directory offset checkpoints: the recovery points (`recovery-point-offset-checkpoint`) and the
// high watermarks (`replication-offset-checkpoint`) of every partition in a broker's data directory, one file each
// with a line per partition directory, where each partition directory held two files of its own. A broker's
// periodic checkpoint then writes and fsyncs two files, not two per changed partition: at 10,000 partitions that
// was 20,000 fsynced files every 5 s while they all took writes, and as many while they were created.
//
// Lines are `<partition directory> <topic id> <offset>`: a value is only used for the topic it was written for (a
// directory deleted and created again for a new topic of the same name starts from nothing). Requests to write
// are coalesced: a write takes every partition's value as it is when the write starts, and a request made while a
// write is running waits for the next one, so a thousand logs checkpointing (or truncating) at once cost a couple
// of writes. A write evaluates each open log's value then (a recovery point is never above the synced data, so
// the current one is always safe to persist); a log that is not open keeps the value read at load.
//
// The log start offset stays in its partition directory (log-checkpoints.ts): it changes rarely, and losing it
// would bring deleted records back, where a lost recovery point only costs a longer recovery and a lost high
// watermark is found again from the leader. A partition directory written by an earlier Kastor, with its own
// recovery-point and high-watermark files, is read from those while the directory files do not exist yet; they
// are removed once the directory files hold the values (and never read again: one left by a crash in between may
// be stale).
import { join } from 'node:path';
import type { Storage } from './storage.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { CheckpointFormatError } from './errors.ts';
import { GroupCommit } from './group-commit.ts';
import { HIGH_WATERMARK_CHECKPOINT, RECOVERY_POINT_CHECKPOINT, type OffsetCheckpoints } from './log-checkpoints.ts';

export const DIR_RECOVERY_POINTS = 'recovery-point-offset-checkpoint';
export const DIR_HIGH_WATERMARKS = 'replication-offset-checkpoint';

type Warn = (msg: string, facts: object) => void;

/** Where a partition log reads and writes its offset checkpoints (OffsetCheckpoints, or a view of a LogDirCheckpoints). */
export interface OffsetCheckpointStore {
  /** The offset a checkpoint holds; null when there is none. */
  read(name: string): Promise<number | null>;
  /** Persists the checkpoint with the value `value()` gives when it is written; resolves once it is. */
  write(name: string, value: () => number): Promise<void>;
  /** The log closed (its values stay as they are now) or is being deleted (they go: resolves once they are gone). */
  release?(deleted: boolean): Promise<void>;
}

interface Entry {
  topicId: string;
  value: () => number;
}

/** One directory-level file: the partitions' values, written whole, writes coalesced (GroupCommit). */
class DirFile {
  /** Values of the logs opened since load (evaluated at each write), and the loaded ones not claimed yet. */
  readonly entries = new Map<string, Entry>();
  /**
   * Whether a partition's own file may be read: only when this file did not exist at load (the older layout). Once
   * it exists, a partition missing from it has no value here: an own file left beside it (a crash between the
   * directory file's first write and the own file's removal) may be stale.
   */
  ownReadable = false;
  /** Requests so far; a write covers the requests made before it started. */
  private requested = 0;
  private readonly commit = new GroupCommit(async () => {
    const covers = this.requested;
    const lines = [...this.entries].map(([name, e]) => `${name} ${e.topicId} ${e.value()}`).sort();
    await writeCheckpoint(this.storage, this.path, lines);
    return covers;
  }, 0);

  constructor(
    private readonly storage: Storage,
    readonly path: string,
  ) {}

  /** Resolves once a write that started after this call is on disk. */
  request(): Promise<void> {
    return this.commit.wait(++this.requested);
  }
}

/** The offset checkpoints of one data directory's partition directories. */
export class LogDirCheckpoints {
  private readonly files: Record<string, DirFile>;
  /** Partition directories whose own (pre-directory-file) checkpoint files may still exist. */
  private readonly legacy = new Map<string, Set<string>>();

  private constructor(
    private readonly storage: Storage,
    private readonly dataDir: string,
  ) {
    this.files = {
      [RECOVERY_POINT_CHECKPOINT]: new DirFile(storage, join(dataDir, DIR_RECOVERY_POINTS)),
      [HIGH_WATERMARK_CHECKPOINT]: new DirFile(storage, join(dataDir, DIR_HIGH_WATERMARKS)),
    };
  }

  /**
   * Reads the directory's files. A malformed file or line is ignored with a warning (the logs then recover from
   * their start and learn their high watermark from the leader); a line for a directory that is gone is dropped.
   */
  static async load(storage: Storage, dataDir: string, warn: Warn): Promise<LogDirCheckpoints> {
    const out = new LogDirCheckpoints(storage, dataDir);
    const present = new Set(await storage.list(dataDir));
    for (const file of Object.values(out.files)) {
      let lines: string[] | null = null;
      try {
        lines = await readCheckpoint(storage, file.path);
        file.ownReadable = lines === null;
      } catch (e) {
        if (!(e instanceof CheckpointFormatError)) throw e;
        warn('ignoring a malformed log directory checkpoint: logs recover from their start', { path: e.path, reason: e.reason });
      }
      for (const line of lines ?? []) {
        const [name, topicId, offset, extra] = line.split(' ');
        const value = Number(offset);
        if (!name || !topicId || extra !== undefined || !Number.isSafeInteger(value) || value < 0) {
          warn('ignoring a malformed line of a log directory checkpoint', { path: file.path, line });
          continue;
        }
        if (present.has(name)) file.entries.set(name, { topicId, value: () => value });
      }
    }
    return out;
  }

  /**
   * Forgets partition directory `name`, whose directory is about to be removed: resolves once the files no longer
   * hold it, so that a log created there again (even for the same topic, reassigned back) never starts from the
   * old log's recovery point after a crash.
   */
  async forget(name: string): Promise<void> {
    this.legacy.delete(name);
    await Promise.all(Object.values(this.files).map((file) => (file.entries.delete(name) ? file.request() : undefined)));
  }

  /** The checkpoints of partition directory `name` (of topic `topicId`), the ones kept in it read through `own`. */
  view(name: string, topicId: string, own: OffsetCheckpoints): OffsetCheckpointStore {
    return {
      read: async (checkpoint) => {
        const file = this.files[checkpoint];
        if (!file) return own.read(checkpoint);
        const e = file.entries.get(name);
        if (e && e.topicId === topicId) return e.value();
        if (!file.ownReadable) return null;
        // No directory file yet: a partition directory of an earlier Kastor, or a new one.
        const old = await own.read(checkpoint);
        if (old !== null) {
          let names = this.legacy.get(name);
          if (!names) this.legacy.set(name, (names = new Set()));
          names.add(checkpoint);
        }
        return old;
      },
      write: async (checkpoint, value) => {
        const file = this.files[checkpoint];
        if (!file) return own.write(checkpoint, value);
        file.entries.set(name, { topicId, value });
        await file.request();
        const names = this.legacy.get(name);
        if (names?.delete(checkpoint)) {
          if (names.size === 0) this.legacy.delete(name);
          // The directory file holds the value now: the partition's own file would be stale after its next change.
          await this.storage.unlink(join(this.dataDir, name, checkpoint)).catch(() => {});
        }
      },
      release: async (deleted) => {
        if (deleted) return this.forget(name);
        for (const file of Object.values(this.files)) {
          const e = file.entries.get(name);
          if (!e || e.topicId !== topicId) continue;
          const v = e.value();
          file.entries.set(name, { topicId, value: () => v });
        }
      },
    };
  }
}
