// The small files beside a partition's segments (Kafka keeps them per log directory; Kastor per partition
// directory): the offset checkpoints (recovery point, high watermark, log start), written one at a time, and the
// producer-state snapshot. Each is a checkpoint file (checkpoint.ts: written to a temp file, synced, renamed),
// so a crash leaves the old file or the new one. What the values mean, and when they may be written, is the
// partition log's business (partition-log.ts); this module reads and writes them.
import { join } from 'node:path';
import type { Storage } from './storage.ts';
import { readCheckpoint, readOffsetCheckpoint, writeCheckpoint, writeOffsetCheckpoint } from './checkpoint.ts';
import { CheckpointFormatError } from './errors.ts';

export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-checkpoint';
export const HIGH_WATERMARK_CHECKPOINT = 'high-watermark-checkpoint';
export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
/**
 * Where the log starts when DeleteRecords (or a leader's log start, on a follower) moved it inside the first
 * segment: Kafka's log-start-offset-checkpoint, kept here per partition directory. Without it, a restart
 * would start the log at its first segment's base offset again and bring deleted records back.
 */
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
/**
 * The producer-state snapshot (Kafka's `<offset>.snapshot`, one per partition directory here): a checkpoint file
 * whose first entry is the offset below which every batch was applied to the state, the rest the state itself
 * (src/producer-state/producer-snapshot.ts).
 */
export const PRODUCER_SNAPSHOT = 'producer-snapshot';

type Warn = (msg: string, facts: object) => void;

/** The offset checkpoints of one partition directory. */
export class OffsetCheckpoints {
  /** The writes, one after another (write()). */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: Storage,
    private readonly dir: string,
    private readonly warn: Warn,
  ) {}

  /** The offset a checkpoint holds; null when it is missing or malformed (with a warning). */
  async read(name: string): Promise<number | null> {
    try {
      return await readOffsetCheckpoint(this.storage, join(this.dir, name));
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
      this.warn('ignoring malformed checkpoint', { path: e.path, reason: e.reason });
      return null;
    }
  }

  /**
   * Writes a checkpoint with the value `value()` gives when its turn comes. They are written one at a time: two
   * writes of one file share its temp file (the second rename found it gone, ENOENT, when the periodic checkpoint
   * met a follower's truncation), and a truncation's lowered recovery point must not be overwritten by a periodic
   * write that read the old one.
   */
  write(name: string, value: () => number): Promise<void> {
    const write = this.writes.then(() => writeOffsetCheckpoint(this.storage, join(this.dir, name), value()));
    this.writes = write.catch(() => {});
    return write;
  }
}

/**
 * The producer-state snapshot file of one partition directory and the offset it holds. Writes and removals go one
 * at a time, each deciding at its turn whether it still applies.
 */
export class ProducerSnapshotFile {
  /** The offset of the snapshot on disk, null when there is none. */
  offset: number | null = null;
  /** The entries as read on open, kept for the first read (the producer-state rebuild on open). */
  private opened: string[] | null = null;
  private turns: Promise<unknown> = Promise.resolve();
  private readonly path: string;

  constructor(
    private readonly storage: Storage,
    dir: string,
    private readonly warn: Warn,
  ) {
    this.path = join(dir, PRODUCER_SNAPSHOT);
  }

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turns.then(fn);
    this.turns = run.catch(() => {});
    return run;
  }

  /**
   * Reads the offset on open and keeps the entries for the rebuild that follows. One past the recovered log end
   * (the batches it describes were lost, which a snapshot written over synced data never allows) or unreadable is
   * removed, with a warning: the producer state is then rebuilt from the whole log.
   */
  async open(logEndOffset: number): Promise<void> {
    let entries: string[] | null;
    let problem: string | null = null;
    try {
      entries = await readCheckpoint(this.storage, this.path);
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
      [entries, problem] = [[], e.reason];
    }
    if (entries === null) return;
    const offset = Number(entries[0]);
    if (problem === null && !(Number.isSafeInteger(offset) && offset >= 0)) problem = `bad offset ${JSON.stringify(entries[0])}`;
    if (problem === null && offset > logEndOffset) problem = `offset ${offset} is past the log end ${logEndOffset}`;
    if (problem !== null) {
      this.warn('removing a producer snapshot that does not fit the log; the producer state is rebuilt from the log', { path: this.path, reason: problem });
      await this.storage.unlink(this.path);
      return;
    }
    this.offset = offset;
    this.opened = entries;
  }

  /** Writes `lines` as the snapshot at `offset` when its turn comes, unless `applies()` then says otherwise. */
  write(offset: number, lines: readonly string[], applies: () => boolean): Promise<boolean> {
    return this.inTurn(async () => {
      if (!applies() || offset === this.offset) return false;
      await writeCheckpoint(this.storage, this.path, [String(offset), ...lines]);
      this.offset = offset;
      this.opened = null;
      return true;
    });
  }

  /**
   * The snapshot with its lines decoded by `decode`, when its offset is within [logStart, logEnd]; null when there
   * is none, when it lies outside, or when it is malformed (with a warning).
   */
  async read<T>(decode: (path: string, lines: string[], offset: number) => T, logStart: number, logEnd: number): Promise<{ offset: number; state: T } | null> {
    let entries = this.opened;
    this.opened = null;
    try {
      if (this.offset === null) return null;
      entries ??= await readCheckpoint(this.storage, this.path);
      const offset = Number(entries?.[0]);
      if (!entries || offset !== this.offset || offset < logStart || offset > logEnd) return null;
      return { offset, state: decode(this.path, entries.slice(1), offset) };
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
      this.warn('ignoring a malformed producer snapshot; the producer state is rebuilt from the log', { path: e.path, reason: e.reason });
      return null;
    }
  }

  /** Removes the snapshot (a truncation or reset went below it), in turn with the writes. */
  drop(): Promise<void> {
    return this.inTurn(async () => {
      if (this.offset === null) return;
      await this.storage.unlink(this.path);
      this.offset = null;
      this.opened = null;
    });
  }
}
