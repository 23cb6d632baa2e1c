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

import { readSync, writeSync } from 'node:fs';
import { open, mkdir, readdir, rename, rm, stat, statfs, unlink, access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Storage, StorageFile } from '../../log/storage.ts';

/** Largest read or write done synchronously on the event loop (see the top of the file). */
export const SYNC_IO_MAX_BYTES = 64 * 1024;
/** A read starting at most this far below the end of what this handle wrote counts as recent (page-cache hot). */
export const RECENT_WRITE_BYTES = 8 * 1024 * 1024;

class NodeFile implements StorageFile {
  /** The range this handle has written since it was opened ([writtenFrom, writtenTo)), empty at first. */
  private writtenFrom = Infinity;
  private writtenTo = 0;

  constructor(private readonly fh: FileHandle) {}

  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    const hot = this.recentlyWritten(position, length);
    while (done < length) {
      const n = hot
        ? readSync(this.fh.fd, buf, done, length - done, position + done)
        : (await this.fh.read(buf, done, length - done, position + done)).bytesRead;
      if (n === 0) break;
      done += n;
    }
    return done === length ? buf : buf.subarray(0, done);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    const small = data.length <= SYNC_IO_MAX_BYTES;
    while (done < data.length) {
      done += small
        ? writeSync(this.fh.fd, data, done, data.length - done, position + done)
        : (await this.fh.write(data, done, data.length - done, position + done)).bytesWritten;
    }
    this.writtenFrom = Math.min(this.writtenFrom, position);
    this.writtenTo = Math.max(this.writtenTo, position + data.length);
  }

  /** Whether a read is small and lies in what this handle wrote lately, so the page cache holds it. */
  private recentlyWritten(position: number, length: number): boolean {
    return length <= SYNC_IO_MAX_BYTES && position >= this.writtenFrom && position >= this.writtenTo - RECENT_WRITE_BYTES;
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  async truncate(size: number): Promise<void> {
    await this.fh.truncate(size);
    this.writtenTo = Math.min(this.writtenTo, size);
    if (this.writtenFrom >= this.writtenTo) [this.writtenFrom, this.writtenTo] = [Infinity, 0];
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  close(): Promise<void> {
    return this.fh.close();
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

export class NodeStorage implements Storage {
  async open(path: string, options: { create?: boolean } = {}): Promise<StorageFile> {
    try {
      return new NodeFile(await open(path, 'r+'));
    } catch (e) {
      if (!options.create || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // 'a+' creates without truncating a file another opener just made; reopened 'r+' because O_APPEND
    // would make Linux ignore the positions of positional writes.
    const fh = await open(path, 'a+').then(async (h) => (await h.close(), open(path, 'r+')));
    await syncDir(dirname(path));
    return new NodeFile(fh);
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
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
    await unlink(path);
    await syncDir(dirname(path));
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
    await syncDir(dirname(to));
  }

  async removeDir(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  /** As Java's FileStore: total = blocks, usable = blocks available to an unprivileged user. */
  async space(dir: string): Promise<{ totalBytes: number; usableBytes: number }> {
    const s = await statfs(dir);
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  }
}
