// Storage on real files through node:fs/promises. Directory-changing operations fsync the directory so a
// created, renamed or removed file is durable when the call resolves, as the Storage contract says.
//
// Small writes, and small reads of bytes this handle wrote lately, are done synchronously on the event loop
// (pwrite/pread on the handle's descriptor). Both only copy to or from the page cache, a few microseconds for
// SYNC_IO_MAX_BYTES, while the thread pool's round trip costs 50-120 µs here; an acks=all produce waits on two
// writes (leader, follower) and one read (the leader answering its followers' fetch) in turn, and the
// ack-latency probe of `npm run bench -- cluster` fell from 0.66-0.70 to 0.50-0.51 ms p50 (3 runs each, 4,000
// sends). Anything else — larger transfers, reads of older data, which may have to come from the disk and
// would stall every partition of the broker meanwhile — goes through the thread pool as before. fsync never
// runs on the event loop.

import { constants, existsSync, readSync, writeSync } from 'node:fs';
import { open, mkdir, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Storage, StorageFile } from '../../log/storage.ts';
import { Slots } from '../../util/slots.ts';
import { DescriptorPool, defaultDescriptorBudget, type PooledDescriptor } from './descriptor-pool.ts';

/** Largest read or write done synchronously on the event loop (see the top of the file). */
export const SYNC_IO_MAX_BYTES = 64 * 1024;
/** A read starting at most this far below the end of what this handle wrote counts as recent (page-cache hot). */
export const RECENT_WRITE_BYTES = 8 * 1024 * 1024;

class NodeFile implements StorageFile, PooledDescriptor {
  /** The range this handle has written since it was opened ([writtenFrom, writtenTo)), empty at first. */
  private writtenFrom = Infinity;
  private writtenTo = 0;
  /** Null while the pool has closed the descriptor (reopened by path on the next use). */
  private fh: FileHandle | null;
  private reopening: Promise<void> | null = null;
  /** Operations in flight: the descriptor is not closed under them. */
  private busy = 0;
  /** Renamed over or unlinked: its path leads elsewhere now, so the descriptor stays open until close(). */
  private pinned = false;
  private closed = false;
  /** Written since the last sync started: a sync after an eviction must reopen the file to flush it. */
  private dirty = false;

  constructor(
    fh: FileHandle,
    public path: string,
    private readonly storage: NodeStorage,
  ) {
    this.fh = fh;
    storage.pool.opened(this);
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    const hot = this.recentlyWritten(position, length);
    if (hot && this.fh) {
      this.touched();
      while (done < length) {
        const n = readSync(this.fh.fd, buf, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } else {
      await this.use(async (fh) => {
        while (done < length) {
          const n = (await fh.read(buf, done, length - done, position + done)).bytesRead;
          if (n === 0) break;
          done += n;
        }
      });
    }
    return done === length ? buf : buf.subarray(0, done);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    this.dirty = true;
    if (data.length <= SYNC_IO_MAX_BYTES && this.fh) {
      this.touched();
      while (done < data.length) done += writeSync(this.fh.fd, data, done, data.length - done, position + done);
    } else {
      await this.use(async (fh) => {
        while (done < data.length) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
      });
    }
    this.writtenFrom = Math.min(this.writtenFrom, position);
    this.writtenTo = Math.max(this.writtenTo, position + data.length);
  }

  /** Whether a read is small and lies in what this handle wrote lately, so the page cache holds it. */
  private recentlyWritten(position: number, length: number): boolean {
    return length <= SYNC_IO_MAX_BYTES && position >= this.writtenFrom && position >= this.writtenTo - RECENT_WRITE_BYTES;
  }

  async sync(): Promise<void> {
    if (!this.fh && !this.dirty && !this.closed) return; // evicted with nothing written since the last sync
    this.dirty = false;
    try {
      await this.use((fh) => fh.sync());
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  async truncate(size: number): Promise<void> {
    await this.use((fh) => fh.truncate(size));
    this.writtenTo = Math.min(this.writtenTo, size);
    if (this.writtenFrom >= this.writtenTo) [this.writtenFrom, this.writtenTo] = [Infinity, 0];
  }

  async size(): Promise<number> {
    return this.use(async (fh) => (await fh.stat()).size);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reopening?.catch(() => {});
    this.storage.forget(this);
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }

  evictable(): boolean {
    return this.busy === 0 && !this.pinned && this.fh !== null;
  }

  evict(): void {
    const fh = this.fh!;
    this.fh = null;
    fh.close().catch(() => {}); // a close error loses nothing: written bytes are in the page cache already
  }

  /**
   * Keeps the descriptor open from now until close(): the path is about to stop leading to this file. A pinned
   * descriptor leaves the pool's budget (the pool could never close it).
   */
  async pin(): Promise<void> {
    await this.use(async () => {
      this.pinned = true;
      this.storage.pool.forget(this);
    });
  }

  /** Set while a rename moves this file: a reopen waits for its new path. */
  moving: Promise<void> | null = null;

  /** Waits for a reopen in flight (by the old path) before a rename starts. */
  async settled(): Promise<void> {
    await this.reopening?.catch(() => {});
  }

  /** Runs op on an open descriptor (reopened by path if the pool closed it), which stays open meanwhile. */
  async use<T>(op: (fh: FileHandle) => Promise<T>): Promise<T> {
    this.assertOpen();
    this.busy++;
    try {
      if (!this.fh) {
        this.reopening ??= this.reopen().finally(() => (this.reopening = null));
        await this.reopening;
        this.assertOpen();
      }
      this.touched();
      return await op(this.fh!);
    } finally {
      if (--this.busy === 0) this.storage.pool.idle();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw Object.assign(new Error(`file closed: ${this.path}`), { code: 'EBADF' });
  }

  private touched(): void {
    if (!this.pinned) this.storage.pool.touch(this);
  }

  private async reopen(): Promise<void> {
    while (this.moving) await this.moving;
    const pool = this.storage.pool;
    await pool.reserve();
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r+');
    } catch (err) {
      pool.release();
      throw err;
    }
    if (this.closed) {
      pool.release();
      await fh.close();
      return;
    }
    this.fh = fh;
    pool.opened(this);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Directory fsyncs in flight at once (see syncDirSoon). */
const DIR_SYNCS = 16;

interface DirSync {
  running: Promise<void> | null;
  /** The sync that starts once `running` is done: every change made while `running` runs waits for it. */
  next: Promise<void> | null;
}

export interface NodeStorageOptions {
  /** Open descriptors the log's files may hold at once (default: half the process's open-file limit). */
  maxOpenFiles?: number;
}

export class NodeStorage implements Storage {
  readonly pool: DescriptorPool;
  /** Every file open through this storage and not closed yet, by path (renames and unlinks move or pin them). */
  private readonly files = new Map<string, Set<NodeFile>>();
  private readonly dirSyncs = new Map<string, DirSync>();
  private readonly dirSyncSlots = new Slots(DIR_SYNCS);

  constructor(opts: NodeStorageOptions = {}) {
    this.pool = new DescriptorPool(opts.maxOpenFiles ?? defaultDescriptorBudget());
  }

  async open(path: string, options: { create?: boolean } = {}): Promise<StorageFile> {
    await this.pool.reserve();
    try {
      // O_CREAT without O_TRUNC or O_APPEND (Linux ignores the positions of positional writes under O_APPEND):
      // one open whether the file exists or not.
      const fh = await open(path, options.create ? constants.O_RDWR | constants.O_CREAT : 'r+');
      try {
        // A file just created is empty; one that existed empty costs a needless directory fsync, nothing more.
        if (options.create && (await fh.stat()).size === 0) await this.syncDirSoon(dirname(path));
      } catch (err) {
        await fh.close();
        throw err;
      }
      return this.track(new NodeFile(fh, path, this));
    } catch (err) {
      this.pool.release();
      throw err;
    }
  }

  /**
   * fsyncs a directory after a change the caller made in it: joins a sync that has not started yet, or starts
   * one once the running one (which may have started before the change) is done. A segment's three files
   * created together cost one or two directory syncs, not three. At most DIR_SYNCS run at once, outside the
   * descriptor budget (they need no other descriptor, so they can never wait on the budget's).
   */
  private syncDirSoon(dir: string): Promise<void> {
    const e = this.dirSyncs.get(dir) ?? { running: null, next: null };
    this.dirSyncs.set(dir, e);
    if (e.next) return e.next;
    if (!e.running) return this.runDirSync(dir, e);
    const running = e.running;
    e.next = running
      .catch(() => {})
      .then(() => {
        e.next = null;
        return this.runDirSync(dir, e);
      });
    return e.next;
  }

  private runDirSync(dir: string, e: DirSync): Promise<void> {
    const run = (async () => {
      await this.dirSyncSlots.acquire();
      try {
        await syncDir(dir);
      } finally {
        this.dirSyncSlots.release();
      }
    })();
    e.running = run;
    void run
      .catch(() => {})
      .then(() => {
        if (e.running !== run) return;
        e.running = null;
        if (!e.next) this.dirSyncs.delete(dir);
      });
    return run;
  }

  private track(f: NodeFile): NodeFile {
    let at = this.files.get(f.path);
    if (!at) this.files.set(f.path, (at = new Set()));
    at.add(f);
    return f;
  }

  /** A file was closed by its owner. */
  forget(f: NodeFile): void {
    this.pool.forget(f);
    this.untrack(f);
  }

  private untrack(f: NodeFile): void {
    const at = this.files.get(f.path);
    at?.delete(f);
    if (at?.size === 0) this.files.delete(f.path);
  }

  /** Files open at `path`, or under it when it is a directory. */
  private filesAt(path: string, under = false): NodeFile[] {
    if (!under) return [...(this.files.get(path) ?? [])];
    const prefix = path.endsWith('/') ? path : path + '/';
    return [...this.files.entries()].filter(([p]) => p === path || p.startsWith(prefix)).flatMap(([, fs]) => [...fs]);
  }

  /** Pins the files a path change takes away from their path, so their descriptors outlive it. */
  private async pinAll(files: NodeFile[]): Promise<void> {
    await Promise.all(files.map((f) => f.pin().catch(() => {})));
  }

  /**
   * On the event loop: one access(2) of a path whose directory the kernel caches, where the promise API's
   * failure builds an Error with a stack for every missing file (a broker creating 10,000 partitions asks for
   * 40,000 missing checkpoints).
   */
  async exists(path: string): Promise<boolean> {
    return existsSync(path);
  }

  async size(path: string): Promise<number> {
    return (await stat(path)).size;
  }

  list(dir: string): Promise<string[]> {
    return readdir(dir);
  }

  async mkdir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
  }

  async unlink(path: string): Promise<void> {
    await this.pinAll(this.filesAt(path));
    await unlink(path);
    await this.syncDirSoon(dirname(path));
  }

  async rename(from: string, to: string): Promise<void> {
    await this.pinAll(this.filesAt(to));
    const moving = this.filesAt(from);
    // None of them is reopened by its old path once the rename may have happened: reopens wait for the new one.
    let moved!: () => void;
    const done = new Promise<void>((resolve) => (moved = resolve));
    for (const f of moving) f.moving = done;
    try {
      await Promise.all(moving.map((f) => f.settled()));
      await rename(from, to);
      for (const f of moving) {
        this.untrack(f);
        f.path = to;
        this.track(f);
      }
    } finally {
      for (const f of moving) f.moving = null;
      moved();
    }
    await this.syncDirSoon(dirname(to));
  }

  async removeDir(dir: string): Promise<void> {
    await this.pinAll(this.filesAt(dir, true));
    await rm(dir, { recursive: true, force: true });
  }

  /** As Java's FileStore: total = blocks, usable = blocks available to an unprivileged user. */
  async space(dir: string): Promise<{ totalBytes: number; usableBytes: number }> {
    const s = await statfs(dir);
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  }
}
